//! Things going wrong: bad frames on a good connection, herald killed at
//! random points while ingesting, and a graceful stop mid-stream.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald_tests::json_feed::JsonFeed;
use herald_tests::ntfy::{NtfyServer, Pace};
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use rand::{Rng, SeedableRng};
use serde_json::json;

async fn wait_subscribed(server: &NtfyServer, connections: usize) {
    wait_for("herald to subscribe", WAIT, || async {
        if server.active() == connections {
            Ok(())
        } else {
            Err(format!("{} connections", server.active()))
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_malformed_frames_are_counted_and_the_connection_stays() {
    let server = NtfyServer::start("noisy").await;
    let herald = Herald::new();
    let id = herald
        .add_source("Noisy", "ntfy", &server.topic_url(), &[])
        .await;
    let run = herald.start(&[]);
    wait_subscribed(&server, 1).await;
    let first = server.publish(json!({ "title": "before", "message": "good frame" }));
    herald.wait_stored(id, 1, WAIT).await;

    server.send_raw_text("{not json");
    server.send_raw_text(r#"{"event":"message","time":1700000000,"message":"no id"}"#);
    server.send_raw_binary(vec![0xff, 0xfe, 0x00, 0x80]);
    let huge = json!({
        "id": "huge0000001x", "time": herald_tests::now_secs(), "event": "message",
        "topic": "noisy", "title": "too big", "message": "x".repeat(2 << 20),
    })
    .to_string();
    assert!(huge.len() > 2 << 20);
    server.send_raw_text(huge);
    let last = server.publish(json!({ "title": "after", "message": "still listening" }));
    herald
        .wait_stats("the bad frames to be counted", WAIT, |stats| {
            let source = &stats["sources"][0];
            let counts = (
                source["stored"].as_u64(),
                source["frames_rejected"].as_u64(),
                source["frames_malformed"].as_u64(),
            );
            if counts == (Some(2), Some(1), Some(3)) {
                Ok(source.clone())
            } else {
                Err(source.to_string())
            }
        })
        .await;
    let totals = herald.stats().await["totals"].clone();
    assert_eq!(totals["frames_rejected"], 1);
    assert_eq!(totals["frames_malformed"], 3);
    assert_eq!(server.connection_attempts(), 1, "no reconnect");
    assert_eq!(server.accepted(), 1, "no reconnect");
    assert_eq!(server.active(), 1, "still connected");
    let messages = by_remote_id(&herald.messages_of(id).await);
    let ids: HashSet<&str> = messages.keys().map(String::as_str).collect();
    assert_eq!(ids, HashSet::from([first.id.as_str(), last.id.as_str()]));
    let source = herald.source(id).await;
    assert_eq!(source["state"], "connected");
    assert!(
        source["last_error"].as_str().is_some(),
        "the last bad frame is explained: {source}"
    );
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
}

/// The seed for the crash test: `HERALD_CRASH_SEED` to replay a failure.
fn crash_seed() -> u64 {
    std::env::var("HERALD_CRASH_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_herald_stores_everything_exactly_once() {
    const TOTAL: usize = 20_000;
    let seed = crash_seed();
    println!("crash test seed: {seed} (rerun with HERALD_CRASH_SEED={seed})");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let server = NtfyServer::start("firehose").await;
    let samples = [
        ("Order {} paid", "**$249.00** by card · 3 items", "orders"),
        ("订单 {} 已支付", "金额 ¥1,299.00,微信支付", "订单"),
        ("Sensor {} high", "Cold room F3 reads -9.8 °C", "iot"),
        ("库存告警 {}", "SKU-1142 库存 12 件,低于安全库存", "库存"),
        ("Build {} passed", "main @ 4f2c1ab — 1,204 tests", "ci"),
    ];
    let published = server.publish_many((0..TOTAL).map(|index| {
        let (title, body, tag) = samples[index % samples.len()];
        json!({
            "title": title.replace("{}", &index.to_string()),
            "message": format!("{body} (#{index})"),
            "priority": 1 + index % 5,
            "tags": [tag],
        })
    }));
    let expected: HashSet<String> = published.into_iter().map(|p| p.id).collect();
    assert_eq!(expected.len(), TOTAL);
    // At most 2,500 messages a second, in small steps so herald is nearly
    // always mid-commit: the whole backlog takes longer than the five kill
    // rounds together (at most 7.5 s), so every kill lands mid-ingest.
    server.set_pace(Pace {
        frames: 20,
        pause: Duration::from_millis(8),
    });
    let herald = Herald::new();
    let id = herald
        .add_source("Firehose", "ntfy", &server.topic_url(), &[])
        .await;

    for round in 1..=5 {
        let run = herald.start(&["--quiet"]);
        let delay = rng.random_range(100..=1500);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let status = run.kill().await;
        let stored = herald.source_stats(id).await["stored"].clone();
        println!("round {round}: SIGKILL after {delay} ms ({status}); {stored} stored");
        // Consistent after every crash, not only at the end.
        let check = herald.check().await;
        assert!(
            check["sqlite"] == "ok"
                && check["search_index"] == "ok"
                && check["indexed"] == check["messages"]
                && check["messages"] == stored,
            "after round {round} (seed {seed}): {check}"
        );
    }
    let before = herald.source_stats(id).await["stored"]
        .as_u64()
        .expect("a stored count");
    assert!(
        before < TOTAL as u64,
        "every kill should land mid-ingest, but all {TOTAL} were stored already"
    );
    let rest = TOTAL - before as usize;
    let started = Instant::now();
    // Not quiet: herald prints a line per committed message, which tells
    // progress without a second process opening the database meanwhile.
    let final_run = herald.start(&[]);
    let run = &final_run;
    wait_for(
        &format!("the last {rest} messages"),
        Duration::from_secs(120),
        || async move {
            let printed = run.stdout_lines().len();
            if printed >= rest {
                Ok(())
            } else {
                Err(format!(
                    "{printed} printed; herald stderr:\n{}",
                    run.stderr()
                ))
            }
        },
    )
    .await;
    println!(
        "final run stored the last {rest} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (status, lines, stderr) = final_run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(
        lines.len(),
        rest,
        "one line per message stored in the final run"
    );

    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
    assert_eq!(check["messages"], TOTAL, "{check}");
    assert_eq!(check["indexed"], check["messages"], "{check}");
    let messages = herald.messages_of(id).await;
    assert_eq!(messages.len(), TOTAL);
    let stored: HashSet<String> = by_remote_id(&messages).into_keys().collect();
    assert_eq!(stored.len(), TOTAL, "no duplicates");
    assert!(stored == expected, "exactly the published messages");
    // A search still finds what the index should have (seed {seed}).
    let hits = herald.search("库存告警").await;
    assert!(!hits.is_empty(), "search works after the crashes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_ingesting_exits_cleanly_and_commits_what_arrived() {
    const TOTAL: usize = 3_000;
    let server = std::sync::Arc::new(NtfyServer::start("steady").await);
    let herald = Herald::new();
    let id = herald
        .add_source("Steady", "ntfy", &server.topic_url(), &[])
        .await;
    let run = herald.start(&[]);
    wait_subscribed(&server, 1).await;
    // A steady stream, so the stop lands mid-ingest.
    let publisher = {
        let server = server.clone();
        tokio::spawn(async move {
            for index in 0..TOTAL {
                server.publish(json!({
                    "title": format!("Tick {index}"),
                    "message": format!("steady stream message {index}"),
                }));
                if index % 20 == 19 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        })
    };
    // Progress from herald's own output (a line per committed message), so
    // no other process touches the database while it ingests.
    let watched = &run;
    wait_for("ingest to be under way", WAIT, || async move {
        let printed = watched.stdout_lines().len();
        if printed >= 300 {
            Ok(())
        } else {
            Err(format!("{printed} lines printed"))
        }
    })
    .await;
    let (status, lines, stderr) = run.terminate().await;
    assert!(
        status.success(),
        "SIGTERM must exit 0, got {status}; stderr:\n{stderr}"
    );
    let stopped_while_publishing = !publisher.is_finished();
    tokio::time::timeout(WAIT, publisher)
        .await
        .expect("the publisher finishes")
        .expect("the publisher does not panic");

    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
    assert_eq!(check["indexed"], check["messages"], "{check}");
    let wal = herald.database().with_extension("db-wal");
    let wal_size = std::fs::metadata(&wal).map(|meta| meta.len()).unwrap_or(0);
    assert_eq!(wal_size, 0, "a graceful stop checkpoints the WAL");

    // What was committed is exactly the first N of the stream, and the
    // cursor is the N-th: nothing received was dropped on the way out.
    let order = server.published_ids();
    let stored = by_remote_id(&herald.messages_of(id).await);
    let count = stored.len();
    println!(
        "stopped with {count} of {TOTAL} stored (publisher still running: {stopped_while_publishing})"
    );
    assert!(count >= 300);
    let prefix: HashSet<&str> = order[..count].iter().map(String::as_str).collect();
    let got: HashSet<&str> = stored.keys().map(String::as_str).collect();
    if got != prefix {
        let holes: Vec<usize> = (0..count)
            .filter(|index| !got.contains(order[*index].as_str()))
            .collect();
        let beyond = got.len() - got.intersection(&prefix).count();
        panic!(
            "the stored messages are not a prefix of the stream: {} holes in the first {count} \
             (positions {:?}…), {beyond} stored beyond; herald stderr:\n{stderr}",
            holes.len(),
            &holes[..holes.len().min(10)]
        );
    }
    let (cursor, _) = herald.cursor(id).expect("a cursor was saved");
    assert_eq!(
        cursor,
        order[count - 1],
        "the cursor is the last one stored"
    );
    assert!(
        lines.len() <= count,
        "{} lines printed for {count} stored messages",
        lines.len()
    );

    // And the next run picks up right there (progress again from stdout).
    let rest = TOTAL - count;
    let run = herald.start(&[]);
    let watched = &run;
    wait_for(&format!("the other {rest} messages"), WAIT, || async move {
        let printed = watched.stdout_lines().len();
        if printed >= rest {
            Ok(())
        } else {
            Err(format!("{printed} printed; stderr:\n{}", watched.stderr()))
        }
    })
    .await;
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(lines.len(), rest, "nothing printed twice");
    let requests = server.requests();
    assert_eq!(
        requests.last().and_then(|request| request.since.clone()),
        Some(cursor),
        "resumed from the cursor"
    );
    assert_eq!(by_remote_id(&herald.messages_of(id).await).len(), TOTAL);
}

/// Scripts run `herald` commands while `herald run` is ingesting. No
/// message may be lost to the two processes sharing the database: every
/// CLI command opens the store (and checkpoints the WAL when it closes it),
/// and some write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_while_herald_runs_lose_no_messages() {
    const TOTAL: usize = 1_500;
    // A feed that never replays: a message lost on the way to disk is gone.
    let feed = std::sync::Arc::new(JsonFeed::start().await);
    let herald = Herald::new();
    let id = herald
        .add_source("Live feed", "json", &feed.url("/live"), &[])
        .await;
    let run = herald.start(&["--quiet"]);
    wait_for("herald to connect", WAIT, || async {
        if feed.active() == 1 {
            Ok(())
        } else {
            Err(format!("{} connections", feed.active()))
        }
    })
    .await;
    let publisher = {
        let feed = feed.clone();
        tokio::spawn(async move {
            for index in 0..TOTAL {
                feed.push_json(&json!({
                    "id": index,
                    "title": format!("reading {index}"),
                    "message": format!("sensor value {}", index * 7 % 100),
                }));
                if index % 10 == 9 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    // What a script or a second terminal does meanwhile (bounded).
    let mut commands = 0;
    while !publisher.is_finished() && commands < 200 {
        herald.ok(&["stats", "--json"]).await;
        herald.ok(&["messages", "read", "--all"]).await;
        commands += 2;
    }
    tokio::time::timeout(WAIT, publisher)
        .await
        .expect("the publisher finishes")
        .expect("the publisher does not panic");
    println!("{commands} cli commands ran during ingest");
    let (herald_ref, run_ref) = (&herald, &run);
    let outcome = herald_tests::try_wait_for(WAIT, || async move {
        let (herald, run) = (herald_ref, run_ref);
        let stored = herald.source_stats(id).await["stored"]
            .as_u64()
            .unwrap_or(0);
        if stored == TOTAL as u64 {
            Ok(Ok(()))
        } else if run.stderr().contains("could not commit") {
            // No point waiting: those messages are gone.
            Ok(Err(format!("{stored} of {TOTAL} stored")))
        } else {
            Err(format!("{stored} of {TOTAL} stored"))
        }
    })
    .await
    .and_then(|outcome| outcome);
    let (status, _, stderr) = run.terminate().await;
    let lost_commits: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("could not commit"))
        .collect();
    assert!(
        outcome.is_ok() && lost_commits.is_empty(),
        "messages were lost while cli commands ran ({}); herald logged:\n{}",
        outcome.err().unwrap_or_default(),
        lost_commits.join("\n")
    );
    assert!(status.success(), "stderr:\n{stderr}");
}
