//! (h) Idle cost: the release `herald run --headless` with 100 ntfy sources
//! connected to a loopback server and nothing arriving: CPU over 30 s and
//! memory, read from /proc.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use herald_core::config::SourceConfig;
use herald_core::model::{now_ms, Protocol};
use herald_core::store::{self, BatchLimits, NewSource, Store};
use herald_tests::desktop::Desktop;
use herald_tests::ntfy::NtfyServer;
use herald_tests::procfs;
use serde::Serialize;

use crate::herald_bench::error::{Context, Result};

pub const SOURCES: usize = 100;
const SETTLE: Duration = Duration::from_secs(5);
const MEASURED: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct Idle {
    pub sources: usize,
    pub seconds: f64,
    /// Share of one core used while idle.
    pub cpu_percent: f64,
    pub rss_mib: f64,
    pub pss_mib: f64,
    pub threads: usize,
}

fn cpu_ticks(pid: u32) -> Result<u64> {
    procfs::cpu_ticks(pid).with_context(|| format!("herald (pid {pid}) is gone"))
}

fn rollup_mib(pid: u32, field: &str) -> f64 {
    procfs::rollup_kib(pid, field).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

pub async fn measure(binary: &Path, scratch: &Path) -> Result<Idle> {
    let desktop = Desktop::start().await;
    let server = NtfyServer::start("t0").await;
    let data_dir = scratch.join("idle");
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let urls: Vec<String> = (0..SOURCES)
        .map(|index| server.url(&format!("t{index}")))
        .collect();
    let database = data_dir.join("herald.db");
    tokio::task::spawn_blocking(move || -> Result<()> {
        let store = Store::open(&database, BatchLimits::default())?;
        store.write(move |transaction| {
            for (index, url) in urls.iter().enumerate() {
                store::insert_source(
                    transaction,
                    &NewSource {
                        name: format!("Source {index:03}"),
                        protocol: Protocol::Ntfy,
                        url: url.clone(),
                        enabled: true,
                        config: SourceConfig::default(),
                    },
                    now_ms(),
                )?;
            }
            Ok(())
        })?;
        store.close();
        Ok(())
    })
    .await??;
    let mut herald = desktop
        .command(binary)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["run", "--headless", "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting herald")?;
    let pid = herald.id();
    let started = Instant::now();
    while server.active() < SOURCES {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = herald.kill();
            bail!("only {} of {SOURCES} sources connected", server.active());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(SETTLE).await;
    let before = cpu_ticks(pid)?;
    let clock = Instant::now();
    tokio::time::sleep(MEASURED).await;
    let ticks = cpu_ticks(pid)? - before;
    let seconds = clock.elapsed().as_secs_f64();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| tasks.count())
        .unwrap_or(0);
    let idle = Idle {
        sources: SOURCES,
        seconds,
        // USER_HZ is 100 ticks a second.
        cpu_percent: ticks as f64 / seconds,
        rss_mib: rollup_mib(pid, "Rss:"),
        pss_mib: rollup_mib(pid, "Pss:"),
        threads,
    };
    let _ = herald.kill();
    let _ = herald.wait();
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(idle)
}
