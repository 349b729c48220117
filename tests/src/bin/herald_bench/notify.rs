//! (e) Notification latency: a message published by a loopback ntfy server
//! to the `Notify` call reaching the session bus, with the release `herald`
//! running headless on a private desktop (Xvfb, its own bus, dunst as the
//! notification server, configured as a desktop runs it: notifications
//! time out and at most 20 are on screen). dbus-monitor stamps each call as it sees it; the
//! benchmark stamps each publish; both read the same wall clock.
//!
//! Coalescing is turned off for the run, so every message is notified and
//! timed (with it on, a burst makes a few notifications and most messages
//! are, by design, summarised later).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use herald_core::policy::Policy;
use herald_core::store::{self, BatchLimits, Store};
use herald_tests::desktop::Desktop;
use herald_tests::ntfy::NtfyServer;
use serde::Serialize;
use serde_json::json;

use crate::herald_bench::error::{Context, Result};

/// One rate's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub rate_per_sec: u32,
    /// Whether the default policy's burst coalescing was on.
    pub coalescing: bool,
    pub messages: usize,
    /// Messages notified one by one (and timed).
    pub notified: usize,
    /// Every Notify call, summaries included.
    pub notify_calls: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Herald's own stamps (`HERALD_LOG=herald::latency=debug`), from the
    /// frame read off the socket: to its commit, to the notifier
    /// considering it (it is shown, or counted for a summary, at once), and
    /// to the notification call returning. Every message has the first two.
    pub frame_to_commit: Stage,
    pub frame_to_notifier: Stage,
    pub frame_to_shown: Stage,
}

/// Percentiles of one stage, in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stage {
    pub messages: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Stage {
    /// Every `field=MICROSECONDS` in the log.
    fn from_log(log: &str, field: &str) -> Stage {
        let needle = format!("{field}=");
        let mut values: Vec<f64> = log
            .lines()
            .filter_map(|line| {
                let (_, rest) = line.split_once(&needle)?;
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                Some(digits.parse::<f64>().ok()? / 1000.0)
            })
            .collect();
        values.sort_by(f64::total_cmp);
        Stage {
            messages: values.len(),
            p50_ms: quantile(&values, 0.5),
            p99_ms: quantile(&values, 0.99),
            max_ms: values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

fn wall_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs_f64())
        .unwrap_or_default()
}

fn quantile(sorted: &[f64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Publishes `messages` at `rate` per second and times each to its `Notify`.
pub async fn measure(
    binary: &Path,
    scratch: &Path,
    rate: u32,
    messages: usize,
    coalescing: bool,
) -> Result<Latency> {
    let mut desktop = Desktop::start().await;
    desktop.start_notify_monitor();
    desktop.start_dunst_like_a_desktop();
    let server = NtfyServer::start("bench").await;
    let data_dir = scratch.join(format!("notify-{rate}"));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    let added = desktop
        .command(binary)
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "source",
            "add",
            "--name",
            "Bench",
            "--protocol",
            "ntfy",
            "--url",
        ])
        .arg(server.topic_url())
        .output()?;
    ensure!(
        added.status.success(),
        "adding the source failed: {}",
        String::from_utf8_lossy(&added.stderr)
    );
    let database = data_dir.join("herald.db");
    tokio::task::spawn_blocking(move || -> Result<()> {
        let store = Store::open(&database, BatchLimits::default())?;
        let policy = if coalescing {
            Policy::default()
        } else {
            Policy {
                coalesce_count: 0,
                summarize_catch_up: false,
                ..Policy::default()
            }
        };
        store.write(move |transaction| store::rules::set_policy(transaction, &policy))?;
        store.close();
        Ok(())
    })
    .await??;
    let log_path = data_dir.join("herald.log");
    let log = std::fs::File::create(&log_path)?;
    let mut herald = desktop
        .command(binary)
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["run", "--headless", "--quiet"])
        .env("HERALD_LOG", "warn,herald::latency=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting herald")?;
    let connected = Instant::now();
    while server.requests().is_empty() {
        ensure!(
            connected.elapsed() < Duration::from_secs(20),
            "herald did not connect"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the connection settle and the notifier meet the server once.
    server.publish(json!({"title": "warm-up", "message": "x"}));
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The warm-up's stamps are not part of the figures.
    let log_start = std::fs::metadata(&log_path)?.len() as usize;

    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let mut sent_at = Vec::with_capacity(messages);
    for index in 0..messages {
        let due = started + interval * index as u32;
        tokio::time::sleep_until(due.into()).await;
        sent_at.push(wall_secs());
        server.publish(json!({"title": format!("bench {index}"), "message": "body"}));
    }
    // With coalescing, the burst's summary comes when its window closes.
    let deadline = Instant::now() + Duration::from_secs(60);
    let calls = loop {
        let calls = desktop.notify_calls();
        let seen = calls
            .iter()
            .filter(|call| call.summary.starts_with("Bench: bench "))
            .count();
        let summarised = calls
            .iter()
            .any(|call| call.summary.contains("new messages from Bench"));
        if (coalescing && summarised) || seen >= messages || Instant::now() > deadline {
            break calls;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let notify_calls = calls
        .iter()
        .filter(|call| {
            call.summary.starts_with("Bench: bench ") || call.summary.contains("from Bench")
        })
        .count();
    let _ = nix_terminate(&mut herald);
    let mut latencies: Vec<f64> = calls
        .iter()
        .filter_map(|call| {
            let index: usize = call.summary.strip_prefix("Bench: bench ")?.parse().ok()?;
            Some((call.at - sent_at.get(index)?) * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let log = std::fs::read_to_string(&log_path)?;
    let log = log.get(log_start..).unwrap_or_default();
    let committed = Stage::from_log(log, "frame_to_commit_us");
    ensure!(
        committed.messages == messages,
        "herald's latency log has {} commit stamps for {messages} messages",
        committed.messages
    );
    Ok(Latency {
        frame_to_commit: committed,
        frame_to_notifier: Stage::from_log(log, "frame_to_notifier_us"),
        frame_to_shown: Stage::from_log(log, "frame_to_shown_us"),
        rate_per_sec: rate,
        coalescing,
        notify_calls,
        messages,
        notified: latencies.len(),
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
    })
}

/// SIGTERM, then a bounded wait.
fn nix_terminate(child: &mut std::process::Child) -> Result<()> {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id())?);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    Ok(())
}
