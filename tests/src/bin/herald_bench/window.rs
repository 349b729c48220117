//! (d) The window: launch to painted inbox, idle memory, scrolling frame
//! times and input latency during a burst, with the real `herald` binary
//! (release build) under Xvfb; the last two are driven through WebDriver
//! (tauri-driver), as the window tests are.
//!
//! Launch is timed from spawning the process to its `herald::launch` log
//! line "window shown (painted)", which the app writes when the UI reports
//! that the inbox's first page is on screen (the window stays hidden until
//! then). Memory is the proportional set size of the whole process tree
//! (the app and its WebKit processes), from /proc/PID/smaps_rollup, after
//! the window has sat idle.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use herald_core::store;
use herald_tests::desktop::Desktop;
use serde_json::json;

use crate::herald_bench::error::{Context, Result};
use crate::herald_bench::raw::Experiment;
use crate::herald_bench::search;
use crate::herald_bench::stats::median;

/// How long a launch may take before the run is called failed.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The `herald` binary next to this benchmark (build it with
/// `cargo build --release -p herald`).
pub fn herald_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let binary = me
        .parent()
        .map(|directory| directory.join("herald"))
        .context("cannot find the benchmark's directory")?;
    ensure!(
        binary.exists(),
        "{} is missing; build it first with `cargo build --release -p herald`",
        binary.display()
    );
    Ok(binary)
}

/// A data directory holding `count` messages (built once, then reused),
/// with its one source disabled so nothing connects during the runs.
pub fn prepare_inbox(base: &Path, seed: u64, count: usize) -> Result<(PathBuf, search::Corpus)> {
    let directory = base.join(format!("window-{count}"));
    std::fs::create_dir_all(&directory)?;
    let database = directory.join("herald.db");
    let corpus = search::prepare(&database, seed, count, &Experiment::default())?;
    let connection = store::open_connection(&database)?;
    connection.execute_batch("UPDATE sources SET enabled = 0;")?;
    drop(connection);
    Ok((directory, corpus))
}

/// One launch: spawn to painted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Launch {
    pub painted_ms: f64,
    /// The app's own figure (from `herald` starting to parse its arguments).
    pub reported_ms: Option<f64>,
}

/// A running window and the lines of its log.
pub struct Window {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub spawned: Instant,
}

impl Window {
    pub fn launch(binary: &Path, data_dir: &Path, desktop: &Desktop) -> Result<Window> {
        let mut command = desktop.command(binary);
        command
            .arg("--data-dir")
            .arg(data_dir)
            .env("HERALD_LOG", "warn,herald::launch=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let spawned = Instant::now();
        let mut child = command.spawn().context("starting herald")?;
        let stderr = child.stderr.take().context("herald's stderr")?;
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Window {
            child,
            lines,
            spawned,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the "window shown" line; fails on the 3-second fallback
    /// (the UI never reported a paint) or on timeout.
    pub fn wait_painted(&mut self) -> Result<Launch> {
        let deadline = self.spawned + LAUNCH_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => bail!(
                    "herald did not show its window within {} s",
                    LAUNCH_TIMEOUT.as_secs()
                ),
            };
            if line.contains("window shown (painted)") {
                let painted_ms = self.spawned.elapsed().as_secs_f64() * 1000.0;
                let reported_ms = line
                    .split("painted) ")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|number| number.parse().ok());
                return Ok(Launch {
                    painted_ms,
                    reported_ms,
                });
            }
            if line.contains("window shown (timeout") {
                bail!("the UI never reported its first paint: {line}");
            }
        }
    }

    /// SIGTERM, then SIGKILL if it lingers.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Memory of one process: (command name, PSS in KiB).
pub fn pss_kib(pid: u32) -> Option<(String, u64)> {
    let pss = herald_tests::procfs::rollup_kib(pid, "Pss:")?;
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| name.trim().to_string())
        .unwrap_or_default();
    Some((name, pss))
}

/// The tree's memory, per process and in total (MiB).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Memory {
    pub total_mib: f64,
    pub processes: Vec<(String, f64)>,
}

pub fn tree_memory(root: u32) -> Memory {
    let processes: Vec<(String, f64)> = herald_tests::desktop::process_tree(root as i32)
        .into_iter()
        .filter_map(|pid| pss_kib(pid as u32))
        .map(|(name, kib)| (name, kib as f64 / 1024.0))
        .collect();
    Memory {
        total_mib: processes.iter().map(|(_, mib)| mib).sum(),
        processes,
    }
}

/// Launch figures for one inbox size.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LaunchResult {
    pub messages: usize,
    pub runs: Vec<Launch>,
    pub median_ms: f64,
    pub max_ms: f64,
}

/// Launches the window `runs` times on `data_dir` and times each to paint.
pub fn time_launches(
    binary: &Path,
    data_dir: &Path,
    desktop: &Desktop,
    messages: usize,
    runs: usize,
) -> Result<LaunchResult> {
    let mut launches = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut window = Window::launch(binary, data_dir, desktop)?;
        let launch = window.wait_painted();
        window.stop();
        launches.push(launch?);
    }
    let times: Vec<f64> = launches.iter().map(|launch| launch.painted_ms).collect();
    Ok(LaunchResult {
        messages,
        median_ms: median(&times),
        max_ms: times.iter().copied().fold(0.0, f64::max),
        runs: launches,
    })
}

// ------------------------------------------------- driven through WebDriver

/// Figures of a distribution of milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Spread {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Spread {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |fraction: f64| {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = (fraction * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        Spread {
            samples: sorted.len(),
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            max_ms: sorted.last().copied().unwrap_or(0.0),
        }
    }
}

/// Scrolling figures: requestAnimationFrame deltas while the list scrolls
/// `rows` rows, a given number a frame, paging as it goes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scroll {
    pub rows_scrolled: f64,
    pub seconds: f64,
    pub frames: Spread,
    /// Frames that took more than 1.5 refresh intervals (dropped frames).
    pub long_frames: usize,
}

/// Input latency during a burst: a key press (`j`, move down) posted as a
/// task every 50 ms, timed from posting to the next frame after its handler.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Burst {
    pub messages: usize,
    /// From the first publish to the last of them committed.
    pub ingest_seconds: f64,
    pub latency: Spread,
}

pub const ROWS_PER_FRAME: f64 = 5.0;
const SCROLL_TIMEOUT: Duration = Duration::from_secs(180);

/// Installs the scroll recorder; `window.__herald_scroll` holds the result.
const SCROLL_SCRIPT: &str = r#"
const target = arguments[0], perFrame = arguments[1];
const viewport = document.querySelector('.list .viewport');
const row = document.querySelector('.list [data-id]');
if (!viewport || !row) return 'no list';
const rowHeight = row.getBoundingClientRect().height;
const state = { done: false, deltas: [], rows: 0, started: performance.now() };
window.__herald_scroll = state;
let last = 0;
const frame = (now) => {
  if (last) state.deltas.push(now - last);
  last = now;
  viewport.scrollTop += perFrame * rowHeight;
  state.rows = viewport.scrollTop / rowHeight;
  if (state.rows >= target || state.deltas.length >= 20000) {
    state.done = true;
    state.seconds = (now - state.started) / 1000;
  } else {
    requestAnimationFrame(frame);
  }
};
requestAnimationFrame(frame);
return 'started';
"#;

/// Installs the input probe; `window.__herald_probe` holds its samples.
const PROBE_SCRIPT: &str = r#"
const probe = { stop: false, samples: [] };
window.__herald_probe = probe;
const press = () => {
  if (probe.stop) return;
  const posted = performance.now();
  setTimeout(() => {
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', bubbles: true }));
    requestAnimationFrame(() => {
      probe.samples.push(performance.now() - posted);
      setTimeout(press, 50);
    });
  }, 0);
};
press();
return true;
"#;

fn numbers(value: &serde_json::Value) -> Vec<f64> {
    value
        .as_array()
        .map(|items| items.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default()
}

/// Scrolls `rows` rows of the inbox in `data_dir` and records frame times.
pub async fn scroll(
    desktop: &Desktop,
    data_dir: &Path,
    rows: usize,
    rows_per_frame: f64,
) -> Result<Scroll> {
    let session = desktop.launch(data_dir).await;
    session
        .wait_script(
            "the first rows",
            Duration::from_secs(30),
            "return document.querySelectorAll('.list [data-id]').length > 10",
            &[],
        )
        .await;
    let started = session
        .execute(SCROLL_SCRIPT, &[json!(rows), json!(rows_per_frame)])
        .await;
    let outcome = if started != json!("started") {
        Err(format!("the scroll benchmark could not start: {started}").into())
    } else {
        let deadline = Instant::now() + SCROLL_TIMEOUT;
        loop {
            // Looking once a second keeps WebDriver out of the frames measured.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let state = session.execute("return window.__herald_scroll", &[]).await;
            if state["done"].as_bool() == Some(true) {
                let deltas = numbers(&state["deltas"]);
                let frames = Spread::of(&deltas);
                let long_frames = deltas
                    .iter()
                    .filter(|delta| **delta > frames.p50_ms * 1.5)
                    .count();
                break Ok(Scroll {
                    rows_scrolled: state["rows"].as_f64().unwrap_or(0.0),
                    seconds: state["seconds"].as_f64().unwrap_or(0.0),
                    frames,
                    long_frames,
                });
            }
            if Instant::now() > deadline {
                break Err(format!(
                    "scrolling {rows} rows did not finish within {} s (reached {:.0})",
                    SCROLL_TIMEOUT.as_secs(),
                    state["rows"].as_f64().unwrap_or(0.0)
                )
                .into());
            }
        }
    };
    desktop.quit(session).await;
    outcome
}

/// Copies an inbox (database and WAL) into a fresh directory.
fn copy_inbox(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for name in ["herald.db", "herald.db-wal"] {
        let source = from.join(name);
        if source.exists() {
            std::fs::copy(&source, to.join(name))
                .with_context(|| format!("copying {}", source.display()))?;
        }
    }
    Ok(())
}

/// Publishes `messages` at once to a source of a copy of `inbox` while the
/// window is open, and times key presses until they are all committed.
pub async fn burst(
    desktop: &Desktop,
    inbox: &Path,
    scratch: &Path,
    messages: usize,
    seed: u64,
) -> Result<Burst> {
    let _ = std::fs::remove_dir_all(scratch);
    copy_inbox(inbox, scratch)?;
    let server = herald_tests::ntfy::NtfyServer::start("burst").await;
    let database = scratch.join("herald.db");
    let source = {
        let mut connection = store::open_connection(&database)?;
        let transaction = connection.transaction()?;
        let id = store::insert_source(
            &transaction,
            &store::NewSource {
                name: "Burst".into(),
                protocol: herald_core::model::Protocol::Ntfy,
                url: server.topic_url(),
                enabled: true,
                config: herald_core::config::SourceConfig::default(),
            },
            herald_core::model::now_ms(),
        )?;
        transaction.commit()?;
        id
    };
    let count_stored = || -> Result<usize> {
        let connection = store::open_connection(&database)?;
        Ok(connection.query_row(
            "SELECT count(*) FROM messages WHERE source_id = ?1",
            [source.0],
            |row| row.get(0),
        )?)
    };
    let session = desktop.launch(scratch).await;
    let connected = Instant::now() + Duration::from_secs(30);
    while server.active() == 0 {
        ensure!(
            Instant::now() < connected,
            "the burst source did not connect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    session.execute(PROBE_SCRIPT, &[]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut generator = crate::herald_bench::corpus::Generator::new(seed ^ 0xb0057);
    let mut events: Vec<serde_json::Value> = (0..messages)
        .map(|_| serde_json::from_str(&generator.next_frame()))
        .collect::<std::result::Result<_, _>>()?;
    for event in &mut events {
        // The generated frames name their own topic; the source listens to "burst".
        event["topic"] = json!("burst");
    }
    let published = Instant::now();
    server.publish_many(events);
    let deadline = published + Duration::from_secs(120);
    let mut stored = 0;
    while stored < messages && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stored = count_stored()?;
    }
    let ingest_seconds = published.elapsed().as_secs_f64();
    // The UI reloads after the last commit: keep pressing keys through that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let samples = session
        .execute(
            "window.__herald_probe.stop = true; return window.__herald_probe.samples",
            &[],
        )
        .await;
    desktop.quit(session).await;
    ensure!(
        stored >= messages,
        "only {stored} of {messages} burst messages were stored within 120 s"
    );
    Ok(Burst {
        messages,
        ingest_seconds,
        latency: Spread::of(&numbers(&samples)),
    })
}
