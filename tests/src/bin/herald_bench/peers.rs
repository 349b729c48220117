//! (p) Peers: what a user might run instead of Herald to get the same feed
//! into SQLite, each a program of its own in tests/benchmarks/peers, fed by
//! the same loopback server and the same frames as (b), storing into a
//! database with Herald's schema through Herald's two statements, with the
//! same search folding. `tests/benchmarks/peers/install` installs them from
//! the package registries (npm, PyPI, crates.io).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::herald_bench::error::{Context, Result};
use crate::herald_bench::ingest::{self, Frames};
use crate::herald_bench::raw::{self, Experiment};

/// How long one peer run may take before it is declared stuck.
const RUN_TIMEOUT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Peer {
    /// Node.js with `ws` and `better-sqlite3` 12.
    Node,
    /// CPython with `websockets` and the standard `sqlite3`.
    Python,
    /// tokio-tungstenite and serde with rusqlite, on one thread (the `ntfy`
    /// crate's subscriber cannot parse ntfy's action frames; see
    /// tests/benchmarks/peers/README.md).
    Rust,
}

pub const ALL: [Peer; 3] = [Peer::Node, Peer::Python, Peer::Rust];

impl Peer {
    pub fn label(self) -> &'static str {
        match self {
            Peer::Node => "Node.js ws + better-sqlite3",
            Peer::Python => "Python websockets + sqlite3",
            Peer::Rust => "Rust tokio-tungstenite + rusqlite",
        }
    }

    /// How many times slower than Herald this peer may be at most: Herald
    /// must reach this multiple of the peer's rate (issue 7's targets; for
    /// the Rust peer, "ahead of every peer").
    pub fn target(self) -> f64 {
        match self {
            Peer::Node => 1.2,
            Peer::Python => 1.5,
            Peer::Rust => 1.0,
        }
    }

    fn command(self) -> Result<std::process::Command> {
        let peers = peers_dir();
        let mut command = match self {
            Peer::Node => {
                let mut command = std::process::Command::new("node");
                command.arg(peers.join("node/peer.mjs"));
                command
            }
            Peer::Python => {
                let mut command =
                    std::process::Command::new(cache_dir().join("python-venv/bin/python"));
                command.arg(peers.join("python/peer.py"));
                command
            }
            Peer::Rust => {
                std::process::Command::new(target_dir().join("peers/release/herald-peer-rust"))
            }
        };
        command.current_dir(peers.parent().context("the repository")?);
        Ok(command)
    }
}

fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/peers")
}

fn cache_dir() -> PathBuf {
    std::env::var_os("HERALD_PEERS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
            PathBuf::from(home).join(".cache/herald-bench/peers")
        })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// Installs (or checks) every peer: `tests/benchmarks/peers/install`.
pub fn install() -> Result<()> {
    let script = peers_dir().join("install");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("HERALD_PEERS_CACHE", cache_dir())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    ensure!(status.success(), "{} failed: {status}", script.display());
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerRun {
    pub peer: Peer,
    pub rows: usize,
    /// First frame sent to the peer printing `done` after its last commit.
    pub seconds: f64,
    pub rows_per_sec: f64,
    /// The SQLite library the peer linked, as it reported it.
    pub sqlite: String,
}

/// One run of `peer` with a fresh database at `path`.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    peer: Peer,
    path: &Path,
    frames: &Frames,
    experiment: &Experiment,
) -> Result<PeerRun> {
    let (connection, source) = raw::create(path, experiment)?;
    drop(connection);
    let expected = frames.len();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("ws://{}/bench/ws", listener.local_addr()?);
    let mut command = peer.command()?;
    command
        .args(["--url", &url, "--db"])
        .arg(path)
        .args(["--source-id", &source.0.to_string()])
        .args(["--expected", &expected.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let run = runtime.block_on(async {
        let (go, go_signal) = oneshot::channel();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(ingest::serve(
            listener,
            frames.clone(),
            None,
            go_signal,
            stopped,
        ));
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!(
                    "starting the {} peer (run tests/benchmarks/peers/install)",
                    peer.label()
                )
            })?;
        let _ = go.send(());
        let stdout = child.stdout.take().context("the peer's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut sqlite = String::from("unknown");
        let finished = tokio::time::timeout(RUN_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(version) = line.strip_prefix("sqlite ") {
                    sqlite = version.to_string();
                } else if let Some(rows) = line.strip_prefix("done ") {
                    return Ok::<_, crate::herald_bench::error::Error>(Some((
                        Instant::now(),
                        rows.parse::<usize>()?,
                    )));
                }
            }
            Ok(None)
        })
        .await;
        let _ = stop.send(true);
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
        let timing = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .context("the loopback server never finished")?
            .context("server task")??;
        let (done, rows) = match finished {
            Ok(Ok(Some(done))) => done,
            Ok(Ok(None)) => bail!(
                "the {} peer exited without storing every message ({status:?})",
                peer.label()
            ),
            Ok(Err(error)) => return Err(error),
            Err(_) => bail!(
                "the {} peer did not finish within {RUN_TIMEOUT:?}",
                peer.label()
            ),
        };
        ensure!(
            rows == expected,
            "the {} peer reported {rows} rows, expected {expected}",
            peer.label()
        );
        let seconds = done.saturating_duration_since(timing.first).as_secs_f64();
        Ok(PeerRun {
            peer,
            rows,
            seconds,
            rows_per_sec: rows as f64 / seconds,
            sqlite,
        })
    })?;
    verify(path, expected)?;
    Ok(run)
}

/// The peer must have stored every message, and indexed each once.
fn verify(path: &Path, expected: usize) -> Result<()> {
    let connection = herald_core::store::open_connection(path)?;
    let (messages, indexed) = ingest::stored_and_indexed(&connection)?;
    ensure!(
        messages == expected && indexed == expected,
        "VERIFY FAILED for {}: {messages} messages, {indexed} indexed; expected exactly {expected}",
        path.display()
    );
    Ok(())
}
