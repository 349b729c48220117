//! ntfy sources end to end: fields, headless output, authentication, and a
//! server that dies and comes back mid-stream.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use herald_tests::ntfy::{NtfyAuth, NtfyServer};
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_messages_arrive_with_every_field_and_one_line_each() {
    let server = NtfyServer::start("alerts").await;
    let herald = Herald::new();
    let expires = herald_tests::now_secs() + 43_200;
    // Cached before Herald first connects: fetched with since=all.
    let full = server.publish(json!({
        "title": "Disk full",
        "message": "**/var** is at 99%\nclean up /var/log",
        "priority": 5,
        "tags": ["warning", "skull"],
        "click": "https://grafana.example.com/d/1",
        "icon": "https://example.com/icon.png",
        "actions": [{"action": "view", "label": "Open", "url": "https://example.com", "clear": false}],
        "attachment": {"name": "log.txt", "type": "text/plain", "size": 120,
                        "expires": expires, "url": "https://example.com/f/log.txt"},
        "content_type": "text/markdown",
        "expires": expires,
    }));
    let plain = server.publish(json!({ "message": "Backup finished" }));
    let chinese = server.publish(json!({
        "title": "仓库 A3 库存告警",
        "message": "SKU-1142 库存 12 件,低于安全库存。",
        "priority": 4,
        "tags": ["库存"],
    }));
    let id = herald
        .add_source("Alerts", "ntfy", &server.topic_url(), &[])
        .await;
    let run = herald.start(&[]);
    herald.wait_stored(id, 3, WAIT).await;
    // Live, on the open connection.
    let live: Vec<_> = (1..=3)
        .map(|priority| {
            server.publish(json!({
                "title": format!("Live {priority}"),
                "message": format!("live body {priority}"),
                "priority": priority,
            }))
        })
        .collect();
    herald.wait_stored(id, 6, WAIT).await;

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "one connection: {requests:?}");
    assert_eq!(requests[0].path, "/alerts/ws");
    assert_eq!(
        requests[0].since.as_deref(),
        Some("all"),
        "a first connect asks for the cache"
    );

    let messages = by_remote_id(&herald.messages_of(id).await);
    assert_eq!(messages.len(), 6);
    let stored = &messages[&full.id];
    assert_eq!(stored["source_id"], id);
    assert_eq!(stored["source_name"], "Alerts");
    assert_eq!(stored["topic"], "alerts");
    assert_eq!(stored["title"], "Disk full");
    assert_eq!(stored["body"], "**/var** is at 99%\nclean up /var/log");
    assert_eq!(stored["format"], "markdown");
    assert_eq!(stored["priority"], 5);
    assert_eq!(stored["raw_priority"], 5);
    assert_eq!(stored["tags"], json!(["warning", "skull"]));
    assert_eq!(stored["click"], "https://grafana.example.com/d/1");
    assert_eq!(stored["icon"], "https://example.com/icon.png");
    assert_eq!(stored["actions"], full.event["actions"]);
    assert_eq!(stored["attachment"], full.event["attachment"]);
    assert_eq!(stored["sent_at"], full.time * 1000);
    assert_eq!(stored["expires_at"], expires * 1000);
    assert_eq!(stored["read"], false);
    assert_eq!(stored["starred"], false);

    let stored = &messages[&plain.id];
    assert_eq!(stored["title"], "");
    assert_eq!(stored["body"], "Backup finished");
    assert_eq!(stored["priority"], 3, "unset priority is ntfy's default, 3");
    assert_eq!(stored["raw_priority"], Value::Null);
    assert_eq!(stored["format"], "text");
    assert_eq!(stored["tags"], json!([]));
    for absent in ["click", "icon", "actions", "attachment", "expires_at"] {
        assert_eq!(stored[absent], Value::Null, "{absent} of {stored}");
    }

    let stored = &messages[&chinese.id];
    assert_eq!(stored["title"], "仓库 A3 库存告警");
    assert_eq!(stored["tags"], json!(["库存"]));
    for (priority, published) in (1..=3).zip(&live) {
        assert_eq!(messages[&published.id]["priority"], priority);
        assert_eq!(
            messages[&published.id]["body"],
            format!("live body {priority}")
        );
    }

    // One line on stdout per new message, printed after it is committed.
    let lines = wait_for("six lines on stdout", WAIT, || {
        let lines = run.stdout_lines();
        async move {
            if lines.len() >= 6 {
                Ok(lines)
            } else {
                Err(format!("{lines:?}"))
            }
        }
    })
    .await;
    let (status, lines_at_exit, stderr) = run.terminate().await;
    assert!(
        status.success(),
        "SIGTERM exits 0, got {status}; stderr:\n{stderr}"
    );
    assert_eq!(lines_at_exit, lines, "no line printed twice or late");
    let expected = [
        ("Disk full — **/var** is at 99%", "P5"),
        ("Backup finished", "P3"),
        ("仓库 A3 库存告警 — SKU-1142 库存 12 件", "P4"),
        ("Live 1 — live body 1", "P1"),
        ("Live 2 — live body 2", "P2"),
        ("Live 3 — live body 3", "P3"),
    ];
    for (text, priority) in expected {
        let matching: Vec<_> = lines.iter().filter(|line| line.contains(text)).collect();
        assert_eq!(matching.len(), 1, "one line with {text:?} in {lines:#?}");
        assert!(
            matching[0].contains("Alerts") && matching[0].contains(priority),
            "line names the source and {priority}: {}",
            matching[0]
        );
    }

    // A restart resumes after the last message: nothing is printed again,
    // only what is new.
    let run = herald.start(&[]);
    wait_for("herald to reconnect", WAIT, || async {
        if server.accepted() == 2 {
            Ok(())
        } else {
            Err(format!("{} connections", server.accepted()))
        }
    })
    .await;
    assert_eq!(
        server.requests()[1].since.as_deref(),
        Some(live[2].id.as_str()),
        "resumes after the last stored message"
    );
    let newest = server.publish(json!({ "title": "After restart", "message": "fresh" }));
    herald.wait_stored(id, 7, WAIT).await;
    wait_for("one new line", WAIT, || {
        let lines = run.stdout_lines();
        async move {
            if lines.is_empty() {
                Err("no lines yet".to_string())
            } else {
                Ok(())
            }
        }
    })
    .await;
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(lines.len(), 1, "only the new message is printed: {lines:?}");
    assert!(lines[0].contains("After restart — fresh"), "{lines:?}");
    assert_eq!(
        herald.cursor(id).map(|(last_id, _)| last_id),
        Some(newest.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_bearer_and_query_auth_work_and_a_wrong_password_is_not_retried() {
    let started = Instant::now();
    let basic_auth = NtfyAuth::Basic {
        username: "phil".into(),
        password: "mypass".into(),
    };
    let token = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";
    let basic = NtfyServer::start_with_auth("basic", basic_auth.clone()).await;
    let bearer = NtfyServer::start_with_auth("bearer", NtfyAuth::Bearer(token.into())).await;
    let query = NtfyServer::start_with_auth("query", basic_auth.clone()).await;
    let wrong = NtfyServer::start_with_auth("wrong", basic_auth).await;
    for server in [&basic, &bearer, &query, &wrong] {
        server.publish(json!({ "message": "behind a login" }));
    }
    let herald = Herald::new();
    let user = ["--username", "phil", "--password", "mypass"];
    let basic_id = herald
        .add_source("basic", "ntfy", &basic.topic_url(), &user)
        .await;
    let bearer_id = herald
        .add_source("bearer", "ntfy", &bearer.topic_url(), &["--token", token])
        .await;
    let query_id = herald
        .add_source(
            "query",
            "ntfy",
            &query.topic_url(),
            &[&user[..], &["--auth-in-query"]].concat(),
        )
        .await;
    let wrong_id = herald
        .add_source(
            "wrong",
            "ntfy",
            &wrong.topic_url(),
            &["--username", "phil", "--password", "not-my-pass"],
        )
        .await;
    let listing = serde_json::to_string(&herald.sources().await).expect("json");
    for secret in ["mypass", token, "not-my-pass"] {
        assert!(
            !listing.contains(secret),
            "source list shows a secret: {listing}"
        );
    }

    let run = herald.start(&[]);
    for id in [basic_id, bearer_id, query_id] {
        herald.wait_stored(id, 1, WAIT).await;
    }
    let refused = herald.wait_state(wrong_id, "auth_failed").await;
    assert!(
        refused["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("401")),
        "the error names the refusal: {refused}"
    );

    let sent = |server: &NtfyServer| {
        let requests = server.requests();
        assert!(!requests.is_empty(), "no request reached the server");
        requests[0].clone()
    };
    let request = sent(&basic);
    assert_eq!(
        request.authorization.as_deref(),
        Some("Basic cGhpbDpteXBhc3M=")
    );
    assert_eq!(request.auth_query, None);
    let request = sent(&bearer);
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Bearer {token}").as_str())
    );
    let request = sent(&query);
    assert_eq!(
        request.authorization, None,
        "with --auth-in-query no header is sent"
    );
    assert_eq!(
        request.auth_query.as_deref(),
        Some("QmFzaWMgY0docGJEcHRlWEJoYzNNPQ"),
        "auth= is base64url(\"Basic cGhpbDpteXBhc3M=\") without padding"
    );
    assert_eq!(sent(&wrong).status, 401);

    // Watch the refused source for a while: no retry storm.
    tokio::time::sleep_until((started + Duration::from_secs(8)).into()).await;
    let attempts = wrong.connection_attempts();
    assert!(
        (1..=2).contains(&attempts),
        "a refused login is tried at most twice, not {attempts} times"
    );
    assert_eq!(herald.source(wrong_id).await["state"], "auth_failed");
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(herald.source_stats(wrong_id).await["stored"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_and_restarted_mid_stream_loses_and_repeats_nothing() {
    let server = NtfyServer::start("stream").await;
    let herald = Herald::new();
    let id = herald
        .add_source("Stream", "ntfy", &server.topic_url(), &[])
        .await;
    let mut run = herald.start(&["--quiet"]);
    wait_for("herald to subscribe", WAIT, || async {
        if server.active() == 1 {
            Ok(())
        } else {
            Err(format!("{} connections", server.active()))
        }
    })
    .await;

    let mut published = Vec::new();
    for index in 0..300 {
        published.push(server.publish(json!({
            "title": format!("Event {index}"),
            "message": format!("sequence number {index}"),
            "priority": 1 + index % 5,
        })));
        if index == 99 {
            server.kill().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            server.restart().await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    herald.wait_stored(id, 300, Duration::from_secs(60)).await;
    run.assert_running();
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");

    let stored = by_remote_id(&herald.messages_of(id).await);
    let expected: HashSet<&str> = published.iter().map(|p| p.id.as_str()).collect();
    let got: HashSet<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(got, expected, "every message exactly once");
    let last = published.last().expect("300 published");
    assert_eq!(
        herald.cursor(id),
        Some((last.id.clone(), last.time * 1000)),
        "the cursor is the last message"
    );
    let requests = server.requests();
    assert!(requests.len() >= 2, "herald reconnected: {requests:?}");
    for request in &requests[1..] {
        let since = request.since.as_deref().unwrap_or("");
        assert!(
            expected.contains(since),
            "a reconnect resumes after a message it has, not since={since}"
        );
    }
}
