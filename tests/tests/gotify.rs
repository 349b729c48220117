//! Gotify sources end to end: the client token in a header or the query,
//! priority mapping, and catching up over REST after a gap.

use std::time::Duration;

use herald_tests::gotify::{gotify_date, Endpoint, GotifyServer};
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::{json, Value};

const TOKEN: &str = "CgA1b2c3d4.e5f6";

/// Herald's 1–5 scale for Gotify's 0–10 (see `Priority::from_gotify`).
fn expected_priority(gotify: i64) -> i64 {
    match gotify {
        i64::MIN..=1 => 1,
        2..=3 => 2,
        4..=7 => 3,
        8..=9 => 4,
        _ => 5,
    }
}

async fn wait_streams(server: &GotifyServer, clients: usize, pages: usize) {
    wait_for(
        &format!("{clients} stream clients and {pages} catch-up pages"),
        WAIT,
        || async {
            let (streams, seen) = (server.stream_clients(), server.page_requests().len());
            if streams == clients && seen >= pages {
                Ok(())
            } else {
                Err(format!("{streams} stream clients, {seen} pages"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_in_header_or_query_and_priorities_are_mapped() {
    let server = GotifyServer::start(TOKEN).await;
    // Sent before Herald connects: found by the first catch-up page.
    let early = server.publish_many([
        json!({"title": "Backup", "message": "nightly backup failed", "priority": 8}),
        json!({"title": "Quiet", "message": "nothing to see", "priority": 0}),
        json!({"title": "Low", "message": "disk at 60 %", "priority": 2}),
    ]);
    let herald = Herald::new();
    let header_id = herald
        .add_source(
            "gotify-header",
            "gotify",
            &server.url(),
            &["--token", TOKEN],
        )
        .await;
    let query_id = herald
        .add_source(
            "gotify-query",
            "gotify",
            &server.url(),
            &["--token", TOKEN, "--auth-in-query"],
        )
        .await;
    let wrong_id = herald
        .add_source(
            "gotify-wrong",
            "gotify",
            &server.url(),
            &["--token", "not-the-token"],
        )
        .await;
    let run = herald.start(&[]);
    herald.wait_stored(header_id, 3, WAIT).await;
    herald.wait_stored(query_id, 3, WAIT).await;
    wait_streams(&server, 2, 2).await;

    // Live, over the stream.
    let sent_at = 1_772_352_000_123_i64;
    let markdown = server.publish(json!({
        "title": "Deploy",
        "message": "**v2.3** is live",
        "priority": 10,
        "date": gotify_date(sent_at),
        "extras": {
            "client::display": {"contentType": "text/markdown"},
            "client::notification": {"click": {"url": "https://ci.example.com/42"}}
        }
    }));
    let normal =
        server.publish(json!({"title": "备份完成", "message": "数据库备份完成", "priority": 5}));
    herald.wait_stored(header_id, 5, WAIT).await;
    herald.wait_stored(query_id, 5, WAIT).await;
    herald.wait_state(wrong_id, "auth_failed").await;

    for source in [header_id, query_id] {
        let messages = by_remote_id(&herald.messages_of(source).await);
        assert_eq!(messages.len(), 5);
        for (id, raw) in early
            .iter()
            .zip([8_i64, 0, 2])
            .chain([(&markdown, 10), (&normal, 5)])
        {
            let message = &messages[&id.to_string()];
            assert_eq!(message["raw_priority"], raw, "{message}");
            assert_eq!(message["priority"], expected_priority(raw), "{message}");
            assert_eq!(message["topic"], "app 1");
        }
        let message = &messages[&early[0].to_string()];
        assert_eq!(message["priority"], 4, "gotify 8 is high (4)");
        assert_eq!(message["title"], "Backup");
        assert_eq!(message["body"], "nightly backup failed");
        let message = &messages[&markdown.to_string()];
        assert_eq!(message["format"], "markdown");
        assert_eq!(message["click"], "https://ci.example.com/42");
        assert_eq!(message["sent_at"], sent_at, "the +08:00 date is converted");
        assert_eq!(message["priority"], 5);
        assert!(message["extras"]["client::display"].is_object());
        assert_eq!(messages[&normal.to_string()]["title"], "备份完成");
    }

    // How each source authenticated, on the stream and on the REST pages.
    let requests = server.requests();
    for endpoint in [Endpoint::Stream, Endpoint::Rest] {
        let of = |header: bool| {
            requests
                .iter()
                .filter(|request| request.endpoint == endpoint && request.status != 401)
                .filter(|request| {
                    if header {
                        request.key_header.as_deref() == Some(TOKEN)
                            && request.token_query.is_none()
                    } else {
                        request.token_query.as_deref() == Some(TOKEN)
                            && request.key_header.is_none()
                    }
                })
                .count()
        };
        assert!(
            of(true) >= 1,
            "{endpoint:?} with X-Gotify-Key: {requests:#?}"
        );
        assert!(of(false) >= 1, "{endpoint:?} with ?token=: {requests:#?}");
    }
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(lines.len(), 10, "one line per stored message: {lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_while_herald_was_down_is_caught_up_over_rest() {
    let server = GotifyServer::start(TOKEN).await;
    let herald = Herald::new();
    let id = herald
        .add_source("Gotify", "gotify", &server.url(), &["--token", TOKEN])
        .await;
    let run = herald.start(&["--quiet"]);
    wait_streams(&server, 1, 1).await;
    for index in 0..20 {
        server.publish(json!({
            "title": format!("live {index}"),
            "message": format!("sent while herald listened ({index})"),
            "priority": index % 11,
        }));
    }
    herald.wait_stored(id, 20, WAIT).await;
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(herald.cursor(id).map(|(last, _)| last), Some("20".into()));

    // Herald is down: 450 messages pile up on the server.
    let pages_before = server.page_requests().len();
    server.publish_many((0..450).map(|index| {
        json!({
            "title": format!("gap {index}"),
            "message": format!("sent while herald was down ({index})"),
            "priority": index % 11,
        })
    }));
    let run = herald.start(&["--quiet"]);
    herald.wait_stored(id, 470, Duration::from_secs(60)).await;
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");

    // 450 new at 200 a page, newest first: 3 pages, each below the last.
    let pages: Vec<_> = server
        .page_requests()
        .into_iter()
        .skip(pages_before)
        .collect();
    let sinces: Vec<Option<&str>> = pages.iter().map(|page| page.param("since")).collect();
    assert_eq!(
        sinces,
        [None, Some("271"), Some("71")],
        "three pages backward: {pages:#?}"
    );
    assert!(pages.iter().all(|page| page.param("limit") == Some("200")));

    let messages = herald.messages_of(id).await;
    assert_eq!(messages.len(), 470);
    by_remote_id(&messages); // no remote id twice
    let mut in_arrival_order: Vec<(i64, u64)> = messages
        .iter()
        .map(|message| {
            let remote: u64 = message["remote_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or_else(|| panic!("gotify ids are numbers: {message}"));
            (message["id"].as_i64().expect("row id"), remote)
        })
        .collect();
    in_arrival_order.sort_unstable();
    let remote_ids: Vec<u64> = in_arrival_order.iter().map(|(_, remote)| *remote).collect();
    assert_eq!(
        remote_ids,
        (1..=470).collect::<Vec<u64>>(),
        "stored once each, oldest first"
    );
    for message in &messages {
        let raw = message["raw_priority"]
            .as_i64()
            .expect("gotify sends a priority");
        assert_eq!(message["priority"], expected_priority(raw), "{message}");
    }
    let high: Vec<&Value> = messages
        .iter()
        .filter(|message| message["raw_priority"] == 8)
        .collect();
    assert!(!high.is_empty() && high.iter().all(|message| message["priority"] == 4));
    assert_eq!(herald.cursor(id).map(|(last, _)| last), Some("470".into()));
}
