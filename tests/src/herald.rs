//! Driving the built `herald` binary: one-shot subcommands with `--json`
//! output parsed, and `herald run --headless` as a child process that can be
//! killed (SIGKILL) or stopped (SIGTERM). Every instance has its own data
//! directory in a temporary directory and keeps secrets out of the OS
//! keyring (`HERALD_KEYRING=off`).

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::{lock, try_wait_for, WAIT};

/// How long one CLI command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The `herald` binary of the same build as this executable: a test lives
/// in `target/<profile>/deps/`, a binary such as `herald-bench` in
/// `target/<profile>/`, and `herald` in `target/<profile>/`.
pub fn herald_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let name = format!("herald{}", std::env::consts::EXE_SUFFIX);
    let own_dir = exe.parent().expect("an executable lives in a directory");
    let profile_dir = if own_dir.join(&name).is_file() {
        own_dir
    } else {
        own_dir
            .parent()
            .expect("the test executable lives in target/<profile>/deps")
    };
    let binary = profile_dir.join(name);
    assert!(
        binary.is_file(),
        "the herald binary is not at {}; build it first with `cargo build -p herald` \
         (with the same CARGO_TARGET_DIR and profile as the tests)",
        binary.display()
    );
    binary
}

/// What a finished command left behind.
#[derive(Debug)]
pub struct CmdOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CmdOutput {
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

/// One Herald installation: a binary and a data directory of its own.
pub struct Herald {
    binary: PathBuf,
    /// Removed (with the data directory in it) when dropped.
    home: tempfile::TempDir,
    data_dir: PathBuf,
    /// stderr of the latest `herald run`, for timeout messages.
    run_stderr: Mutex<Option<Arc<Mutex<Vec<String>>>>>,
    /// Set on every command after the defaults (see [`Herald::env`]).
    env: Vec<(String, String)>,
}

impl Default for Herald {
    fn default() -> Self {
        Herald::new()
    }
}

impl Herald {
    pub fn new() -> Herald {
        let binary = herald_binary();
        let home = tempfile::Builder::new()
            .prefix("herald-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let data_dir = home.path().join("data");
        Herald {
            binary,
            home,
            data_dir,
            run_stderr: Mutex::new(None),
            env: Vec::new(),
        }
    }

    /// Runs every command with `name=value` too, overriding the defaults
    /// (`HERALD_KEYRING=off`, `LANG=C.UTF-8`, no log filter).
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Herald {
        self.env.push((name.to_string(), value.into()));
        self
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A scratch path inside this instance's temporary directory.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.home.path().join(name)
    }

    pub fn database(&self) -> PathBuf {
        self.data_dir.join("herald.db")
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("HERALD_KEYRING", "off")
            // English output, whatever the machine's locale (tests compare
            // text); a test may set another with `env`.
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("HERALD_DATA_DIR")
            .env_remove("HERALD_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        // To see what herald logs while debugging a test:
        // HERALD_E2E_LOG=debug cargo test -p herald-tests ...
        if let Ok(filter) = std::env::var("HERALD_E2E_LOG") {
            command.env("HERALD_LOG", filter);
        }
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        command
    }

    /// Runs `herald <args>` to the end, whatever its exit code.
    pub async fn exec(&self, args: &[&str]) -> CmdOutput {
        let mut command = self.command();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = tokio::time::timeout(COMMAND_TIMEOUT, command.output())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "`herald {}` ran longer than {COMMAND_TIMEOUT:?}",
                    args.join(" ")
                )
            })
            .unwrap_or_else(|error| panic!("cannot run `herald {}`: {error}", args.join(" ")));
        CmdOutput {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs `herald <args>`, which must succeed; returns its stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        let output = self.exec(args).await;
        assert!(
            output.status.success(),
            "`herald {}` failed with {}:\nstdout: {}\nstderr: {}",
            args.join(" "),
            output.status,
            output.stdout,
            output.stderr
        );
        output.stdout
    }

    /// Runs `herald <args>` (which should include `--json`) and parses stdout.
    pub async fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args).await;
        serde_json::from_str(&stdout).unwrap_or_else(|error| {
            panic!(
                "`herald {}` printed no valid json ({error}):\n{stdout}",
                args.join(" ")
            )
        })
    }

    /// `herald source add --name NAME --protocol PROTOCOL --url URL EXTRA…`;
    /// returns the new source's id.
    pub async fn add_source(&self, name: &str, protocol: &str, url: &str, extra: &[&str]) -> i64 {
        let mut args = vec![
            "source",
            "add",
            "--name",
            name,
            "--protocol",
            protocol,
            "--url",
            url,
        ];
        args.extend_from_slice(extra);
        let stdout = self.ok(&args).await;
        stdout
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("`source add` printed {stdout:?}, not an id"))
    }

    /// `herald stats --json`.
    pub async fn stats(&self) -> Value {
        self.json(&["stats", "--json"]).await
    }

    /// One source's entry of `stats --json`.
    pub async fn source_stats(&self, id: i64) -> Value {
        let stats = self.stats().await;
        find_source(&stats["sources"], id)
    }

    /// `herald source list --json`.
    pub async fn sources(&self) -> Vec<Value> {
        match self.json(&["source", "list", "--json"]).await {
            Value::Array(sources) => sources,
            other => panic!("`source list --json` printed {other}, not an array"),
        }
    }

    /// One source's entry of `source list --json`.
    pub async fn source(&self, id: i64) -> Value {
        find_source(&Value::Array(self.sources().await), id)
    }

    /// `herald check --json`.
    pub async fn check(&self) -> Value {
        // `check` exits non-zero when the database is damaged; the report
        // is what the test wants to look at either way.
        let output = self.exec(&["check", "--json"]).await;
        serde_json::from_str(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "`herald check --json` printed no valid json ({error}); exit {}; stderr: {}",
                output.status, output.stderr
            )
        })
    }

    /// Every stored message (archived and snoozed too), newest first, read
    /// with `messages list --json` a page at a time.
    pub async fn messages(&self) -> Vec<Value> {
        self.messages_where(&[]).await
    }

    /// Every stored message of one source, newest first.
    pub async fn messages_of(&self, source: i64) -> Vec<Value> {
        let source = source.to_string();
        self.messages_where(&["--source", &source]).await
    }

    async fn messages_where(&self, filter: &[&str]) -> Vec<Value> {
        const PAGE: usize = 10_000;
        let page = PAGE.to_string();
        let mut all: Vec<Value> = Vec::new();
        // Bounded: a million messages at most, far above any test here.
        for _ in 0..100 {
            let mut args = vec!["messages", "list", "--json", "--all", "--limit", &page];
            args.extend_from_slice(filter);
            let before = all.last().map(|last| last["id"].to_string());
            if let Some(before) = &before {
                args.push("--before");
                args.push(before);
            }
            let batch = match self.json(&args).await {
                Value::Array(batch) => batch,
                other => panic!("`messages list --json` printed {other}, not an array"),
            };
            let done = batch.len() < PAGE;
            all.extend(batch);
            if done {
                return all;
            }
        }
        panic!("more than 100 pages of messages");
    }

    /// `herald search QUERY --json`.
    pub async fn search(&self, query: &str) -> Vec<Value> {
        match self
            .json(&["search", query, "--json", "--limit", "1000"])
            .await
        {
            Value::Array(hits) => hits,
            other => panic!("`search --json` printed {other}, not an array"),
        }
    }

    /// Waits until `probe(stats --json)` says yes.
    pub async fn wait_stats<T>(
        &self,
        what: &str,
        timeout: Duration,
        probe: impl Fn(&Value) -> Result<T, String>,
    ) -> T {
        let probe = &probe;
        let outcome = try_wait_for(timeout, || async move { probe(&self.stats().await) }).await;
        self.or_fail(what, timeout, outcome)
    }

    /// The value, or a failure that shows what was seen last and what the
    /// latest `herald run` logged.
    fn or_fail<T>(&self, what: &str, timeout: Duration, outcome: Result<T, String>) -> T {
        match outcome {
            Ok(value) => value,
            Err(last) => {
                let log = lock(&self.run_stderr)
                    .as_ref()
                    .map(|lines| {
                        let lines = lock(lines);
                        let skip = lines.len().saturating_sub(40);
                        lines[skip..].join("\n")
                    })
                    .unwrap_or_else(|| "(no herald run yet)".into());
                panic!(
                    "timed out after {timeout:?} waiting for {what}\nlast seen: {last}\n\
                     herald run stderr (last 40 lines):\n{log}"
                )
            }
        }
    }

    /// Waits until source `id` has stored exactly `count` messages (more is
    /// an immediate failure: something was stored twice or invented).
    pub async fn wait_stored(&self, id: i64, count: u64, timeout: Duration) -> Value {
        self.wait_stats(
            &format!("source {id} to store {count} messages"),
            timeout,
            |stats| {
                let source = find_source(&stats["sources"], id);
                let stored = source["stored"].as_u64().unwrap_or(0);
                assert!(
                    stored <= count,
                    "source {id} stored {stored} messages, more than the {count} sent: {source}"
                );
                if stored == count {
                    Ok(source)
                } else {
                    Err(source.to_string())
                }
            },
        )
        .await
    }

    /// Waits until source `id` is in `state` (per `source list --json`).
    pub async fn wait_state(&self, id: i64, state: &str) -> Value {
        let outcome = try_wait_for(WAIT, || async move {
            let source = self.source(id).await;
            if source["state"] == state {
                Ok(source)
            } else {
                Err(source.to_string())
            }
        })
        .await;
        self.or_fail(&format!("source {id} to be {state}"), WAIT, outcome)
    }

    /// The cursor stored for a source: `(last_id, last_time in ms)`. Reads
    /// the database directly; call it while no `herald run` is writing.
    pub fn cursor(&self, source: i64) -> Option<(String, i64)> {
        let connection = rusqlite::Connection::open(self.database()).expect("the database opens");
        connection
            .query_row(
                "SELECT last_id, last_time FROM cursors WHERE source_id = ?1",
                [source],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .ok()
    }

    /// Starts `herald run --headless` (plus `extra`) in the background.
    pub fn start(&self, extra: &[&str]) -> Running {
        let mut command = self.command();
        command
            .args(["run", "--headless"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("`herald run` starts");
        let stdout_lines = Arc::new(Mutex::new(Vec::new()));
        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(collect_lines(stdout, stdout_lines.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(collect_lines(stderr, stderr_lines.clone()));
        }
        *lock(&self.run_stderr) = Some(stderr_lines.clone());
        Running {
            child,
            stdout: stdout_lines,
            stderr: stderr_lines,
            readers,
        }
    }
}

fn find_source(sources: &Value, id: i64) -> Value {
    sources
        .as_array()
        .and_then(|sources| sources.iter().find(|source| source["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no source {id} in {sources}"))
}

fn collect_lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            lock(&lines).push(line);
        }
    })
}

/// A `herald run --headless` child. Dropping it kills the process.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

/// How long a stopped or killed herald may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child has not been reaped yet")
    }

    /// Lines printed on stdout so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        lock(&self.stdout).clone()
    }

    /// What was printed on stderr so far.
    pub fn stderr(&self) -> String {
        lock(&self.stderr).join("\n")
    }

    /// Fails the test if herald has already exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "herald run exited early with {status}; stderr:\n{}",
                self.stderr()
            );
        }
    }

    /// SIGKILL: no chance to clean up, like a power cut or the OOM killer.
    pub async fn kill(mut self) -> ExitStatus {
        self.child.start_kill().expect("SIGKILL is delivered");
        self.reap().await
    }

    /// SIGTERM, as a service manager stops it; returns the exit status.
    pub async fn terminate(mut self) -> (ExitStatus, Vec<String>, String) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid()).expect("pids fit in i32"));
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
            .expect("SIGTERM is delivered");
        let status = self.reap().await;
        (status, self.stdout_lines(), self.stderr())
    }

    /// Waits (bounded) for the process to exit and its output to drain.
    async fn reap(&mut self) -> ExitStatus {
        let status = match tokio::time::timeout(EXIT_TIMEOUT, self.child.wait()).await {
            Ok(status) => status.expect("waiting for herald works"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "herald did not exit within {EXIT_TIMEOUT:?}; stderr:\n{}",
                    self.stderr()
                );
            }
        };
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
        }
        status
    }
}
