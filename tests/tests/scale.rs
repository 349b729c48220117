//! 500 sources at once against one loopback server: all connect, a server
//! crash does not bring them back in lockstep (jittered backoff), an idle
//! herald uses next to no CPU, and its memory is printed.

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use herald_tests::ntfy::NtfyServer;
use herald_tests::procfs;
use herald_tests::{wait_for, Herald};
use serde_json::json;

const SOURCES: usize = 500;

fn cpu_ticks(pid: u32) -> u64 {
    procfs::cpu_ticks(pid).expect("herald is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_sources_connect_spread_out_and_idle_quietly() {
    let server = NtfyServer::start("t0").await;
    let herald = Herald::new();
    let added = Instant::now();
    let urls: Vec<String> = (0..SOURCES)
        .map(|index| server.url(&format!("t{index}")))
        .collect();
    let herald_ref = &herald;
    let ids: Vec<i64> = stream::iter(urls.iter().enumerate())
        .map(|(index, url)| async move {
            herald_ref
                .add_source(&format!("Source {index:03}"), "ntfy", url, &[])
                .await
        })
        .buffered(4)
        .collect()
        .await;
    assert_eq!(ids.len(), SOURCES);
    println!(
        "scale: {SOURCES} sources added in {:.1} s",
        added.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut running = herald.start(&["--quiet"]);
    let connected = |want: usize| {
        let server = &server;
        async move {
            wait_for(
                &format!("{want} connections"),
                Duration::from_secs(60),
                || async {
                    if server.active() >= want {
                        Ok(())
                    } else {
                        Err(format!("{} connected", server.active()))
                    }
                },
            )
            .await;
        }
    };
    connected(SOURCES).await;
    println!(
        "scale: all {SOURCES} connected {:.1} s after start",
        started.elapsed().as_secs_f64()
    );
    running.assert_running();

    // A message on the last topic reaches its source alone.
    server.publish(json!({ "topic": format!("t{}", SOURCES - 1), "title": "the last one" }));
    herald
        .wait_stored(ids[SOURCES - 1], 1, Duration::from_secs(30))
        .await;

    // Idle: connected, nothing arriving.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = running.pid();
    let before = cpu_ticks(pid);
    let idle = Duration::from_secs(10);
    tokio::time::sleep(idle).await;
    let ticks = cpu_ticks(pid) - before;
    // Linux counts CPU time in USER_HZ, 100 ticks a second.
    let percent = ticks as f64 / idle.as_secs_f64();
    let memory = |field| procfs::rollup_kib(pid, field).unwrap_or(0);
    let (rss, pss) = (memory("Rss:"), memory("Pss:"));
    println!(
        "scale: idle with {SOURCES} sources: {percent:.2} % of one core over {} s; RSS {} MiB, PSS {} MiB",
        idle.as_secs(),
        rss / 1024,
        pss / 1024
    );
    assert!(percent < 5.0, "an idle herald used {percent:.2} % CPU");

    // The server crashes and comes back: the sources must not return in
    // lockstep. Count connection attempts in 100 ms buckets.
    server.kill().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let attempts_before = server.connection_attempts();
    server.restart().await;
    let restarted = Instant::now();
    let mut buckets = Vec::new();
    let mut last = attempts_before;
    while server.active() < SOURCES && restarted.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = server.connection_attempts();
        buckets.push(now - last);
        last = now;
    }
    let busiest = buckets.iter().copied().max().unwrap_or(0);
    println!(
        "scale: all {SOURCES} back {:.1} s after the restart; at most {busiest} connection attempts in any 100 ms ({} attempts in all)",
        restarted.elapsed().as_secs_f64(),
        last - attempts_before
    );
    assert_eq!(server.active(), SOURCES, "every source reconnected");
    assert!(
        busiest <= SOURCES / 4,
        "{busiest} of {SOURCES} sources came back in the same 100 ms: {buckets:?}"
    );
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
}
