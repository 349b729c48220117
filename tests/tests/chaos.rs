//! Chaos: ntfy, Gotify and JSON servers behind proxies that cut connections, cut frames in half
//! and go silent, servers killed and restarted, and herald itself
//! SIGKILLed, all at random while messages keep being published. At the end
//! every message is stored exactly once.
//!
//! `HERALD_CHAOS_SECONDS` sets how long the faults go on (default 20, as CI
//! runs it; the README gives figures for a longer soak) and
//! `HERALD_CHAOS_SEED` replays a run.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use herald_tests::chaos::ChaosProxy;
use herald_tests::gotify::GotifyServer;
use herald_tests::json_feed::JsonFeed;
use herald_tests::ntfy::NtfyServer;
use herald_tests::{by_remote_id, wait_for, Herald, Running, WAIT};
use rand::{Rng, SeedableRng};
use serde_json::json;

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

/// The read timeout the sources get: a stalled connection is noticed
/// within it.
const READ_TIMEOUT_SECS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_gone_silent_is_replaced_within_the_read_timeout() {
    let server = NtfyServer::start("quiet").await;
    let proxy = ChaosProxy::start(loopback(server.port())).await;
    let herald = Herald::new();
    let url = format!("ws://127.0.0.1:{}/quiet/ws", proxy.port());
    let timeout = READ_TIMEOUT_SECS.to_string();
    let id = herald
        .add_source("Quiet", "ntfy", &url, &["--read-timeout", &timeout])
        .await;
    let running = herald.start(&[]);
    server.publish(json!({ "title": "before the silence" }));
    herald.wait_stored(id, 1, WAIT).await;
    assert_eq!(proxy.accepted(), 1);

    // The link goes dead without a close: nothing more arrives, not even
    // the answer to herald's pings.
    proxy.stall();
    let stalled = Instant::now();
    server.publish(json!({ "title": "sent while the link was dead" }));
    wait_for("a new connection", WAIT, || async {
        if proxy.accepted() >= 2 {
            Ok(())
        } else {
            Err(format!("{} connections", proxy.accepted()))
        }
    })
    .await;
    let replaced_after = stalled.elapsed();
    herald.wait_stored(id, 2, WAIT).await;
    println!(
        "silent connection replaced after {:.1} s (read timeout {READ_TIMEOUT_SECS} s)",
        replaced_after.as_secs_f64()
    );
    // The timeout, plus the first retry's backoff (at most a second).
    assert!(
        replaced_after < Duration::from_secs(READ_TIMEOUT_SECS + 2),
        "replaced after {replaced_after:?}"
    );
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
}

/// What the chaos did, printed at the end.
#[derive(Debug, Default)]
struct Injected {
    cuts: u32,
    mid_frame_cuts: u32,
    stalls: u32,
    server_restarts: u32,
    herald_kills: u32,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_loses_and_repeats_nothing() {
    let seconds = env_number("HERALD_CHAOS_SECONDS").unwrap_or(20);
    let seed = env_number("HERALD_CHAOS_SEED").unwrap_or_else(rand::random);
    println!(
        "chaos soak: {seconds} s of faults, seed {seed} (rerun with HERALD_CHAOS_SEED={seed})"
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let orders = NtfyServer::start("orders").await;
    let alarms = NtfyServer::start("alarms").await;
    let gotify = GotifyServer::start("chaos-token").await;
    let feed = JsonFeed::start().await;
    let feed_port: u16 = feed
        .url("")
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port in the feed url");
    let gotify_port: u16 = gotify
        .url()
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .expect("a port in the gotify url");
    let proxies = [
        ChaosProxy::start(loopback(orders.port())).await,
        ChaosProxy::start(loopback(alarms.port())).await,
        ChaosProxy::start(loopback(gotify_port)).await,
        ChaosProxy::start(loopback(feed_port)).await,
    ];
    let herald = Herald::new();
    let timeout = READ_TIMEOUT_SECS.to_string();
    let limits = ["--read-timeout", timeout.as_str()];
    let orders_id = herald
        .add_source(
            "Orders",
            "ntfy",
            &format!("ws://127.0.0.1:{}/orders/ws", proxies[0].port()),
            &limits,
        )
        .await;
    let alarms_id = herald
        .add_source(
            "Alarms",
            "ntfy",
            &format!("ws://127.0.0.1:{}/alarms/ws", proxies[1].port()),
            &limits,
        )
        .await;
    let gotify_id = herald
        .add_source(
            "Gotify",
            "gotify",
            &format!("http://127.0.0.1:{}", proxies[2].port()),
            &[&limits[..], &["--token", "chaos-token"]].concat(),
        )
        .await;
    // A JSON feed resumes from the last id it saw, through the resume URL.
    let feed_url = format!("ws://127.0.0.1:{}/feed", proxies[3].port());
    let resume = format!("{feed_url}?after={{last_id}}");
    let feed_id = herald
        .add_source(
            "Feed",
            "json",
            &feed_url,
            &[&limits[..], &["--resume-url", &resume]].concat(),
        )
        .await;

    let mut expected_orders = HashSet::new();
    let mut expected_alarms = HashSet::new();
    let mut expected_gotify = HashSet::new();
    let mut expected_feed = HashSet::new();
    let mut injected = Injected::default();
    let mut running: Option<Running> = Some(herald.start(&["--quiet"]));
    // Every source connected and holding a cursor before the faults start:
    // a JSON feed that has seen nothing has nothing to resume from.
    expected_orders.insert(orders.publish(json!({ "title": "first order" })).id);
    expected_alarms.insert(alarms.publish(json!({ "title": "first alarm" })).id);
    expected_gotify.insert(
        gotify
            .publish(json!({ "title": "first gotify" }))
            .to_string(),
    );
    herald.wait_state(feed_id, "connected").await;
    expected_feed.insert(feed.publish(json!({ "title": "first feed" })));
    for id in [orders_id, alarms_id, gotify_id, feed_id] {
        herald.wait_stored(id, 1, WAIT).await;
    }
    let started = Instant::now();
    let mut next_fault = Instant::now() + Duration::from_millis(500);
    let mut next_kill = Instant::now() + Duration::from_secs(3);
    let mut batch = 0u64;
    // Bounded: one batch of 4 × 5 messages every 50 ms for `seconds`.
    while started.elapsed() < Duration::from_secs(seconds) {
        batch += 1;
        let text =
            |kind: &str, index: u64| format!("{kind} {batch}-{index}: 库存 ¥{}", batch * 7 + index);
        for index in 0..5 {
            expected_orders.insert(
                orders
                    .publish(json!({ "title": text("order", index), "tags": ["orders"] }))
                    .id,
            );
            expected_alarms.insert(
                alarms
                    .publish(json!({ "title": text("alarm", index), "priority": 5 }))
                    .id,
            );
            expected_gotify.insert(
                gotify
                    .publish(json!({ "title": text("gotify", index), "message": "disk" }))
                    .to_string(),
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if Instant::now() >= next_fault {
            let proxy = &proxies[rng.random_range(0..proxies.len())];
            match rng.random_range(0..4) {
                0 => {
                    proxy.cut();
                    injected.cuts += 1;
                }
                1 => {
                    proxy.cut_mid_frame();
                    injected.mid_frame_cuts += 1;
                }
                2 => {
                    proxy.stall();
                    injected.stalls += 1;
                }
                _ => {
                    // A server crash: connections reset, then it comes back.
                    let server = if rng.random_bool(0.5) {
                        &orders
                    } else {
                        &alarms
                    };
                    server.kill().await;
                    tokio::time::sleep(Duration::from_millis(rng.random_range(50..800))).await;
                    server.restart().await;
                    injected.server_restarts += 1;
                }
            }
            next_fault = Instant::now() + Duration::from_millis(rng.random_range(200..1200));
        }
        if Instant::now() >= next_kill {
            if let Some(run) = running.take() {
                run.kill().await;
                injected.herald_kills += 1;
            }
            running = Some(herald.start(&["--quiet"]));
            next_kill = Instant::now() + Duration::from_millis(rng.random_range(1500..5000));
        }
    }
    let published =
        expected_orders.len() + expected_alarms.len() + expected_gotify.len() + expected_feed.len();
    println!("chaos: {injected:?}; {published} published; waiting for the rest");

    // Calm: everything published must arrive, once.
    let expected_counts = [
        (orders_id, expected_orders.len()),
        (alarms_id, expected_alarms.len()),
        (gotify_id, expected_gotify.len()),
        (feed_id, expected_feed.len()),
    ];
    for (id, count) in expected_counts {
        herald
            .wait_stored(id, count as u64, Duration::from_secs(120))
            .await;
    }
    let run = running.take().expect("herald runs");
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "{stderr}");

    let mut stored_total = 0;
    let mut duplicated = 0;
    let mut lost = 0;
    for (id, expected) in [
        (orders_id, &expected_orders),
        (alarms_id, &expected_alarms),
        (gotify_id, &expected_gotify),
        (feed_id, &expected_feed),
    ] {
        let messages = herald.messages_of(id).await;
        let stored: HashSet<String> = by_remote_id(&messages).into_keys().collect();
        stored_total += messages.len();
        duplicated += messages.len() - stored.len();
        lost += expected.difference(&stored).count();
        assert_eq!(
            &stored, expected,
            "source {id}: exactly what was published (seed {seed})"
        );
    }
    let check = herald.check().await;
    println!(
        "chaos soak: {} cuts, {} mid-frame cuts, {} stalls, {} server restarts, {} herald kills; {published} published, {stored_total} stored, {duplicated} duplicated, {lost} lost; integrity {} / fts {}",
        injected.cuts,
        injected.mid_frame_cuts,
        injected.stalls,
        injected.server_restarts,
        injected.herald_kills,
        check["sqlite"],
        check["search_index"]
    );
    assert_eq!((duplicated, lost), (0, 0), "seed {seed}");
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
    assert_eq!(check["messages"], published, "{check}");
    // Each ntfy cursor is the newest message of its topic.
    for (id, server) in [(orders_id, &orders), (alarms_id, &alarms)] {
        let newest = server.published_ids().last().cloned();
        assert_eq!(
            herald.cursor(id).map(|(last, _)| last),
            newest,
            "source {id}'s cursor"
        );
    }
}
