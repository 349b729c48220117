//! JSON WebSocket feeds end to end: field mapping with `--map`, the
//! subscribe frame, credentials and headers, and `--text-frames`.

use herald_tests::json_feed::JsonFeed;
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_fields_subscribe_frame_and_headers() {
    let feed = JsonFeed::start().await;
    let herald = Herald::new();
    let subscribe = r#"{"op":"subscribe","channel":"orders"}"#;
    let id = herald
        .add_source(
            "Orders",
            "json",
            &feed.url("/v1/stream?channel=orders"),
            &[
                "--map",
                "id=/order/id",
                "--map",
                "title=/summary",
                "--map",
                "body=/detail/text",
                "--map",
                "priority=/level",
                "--map",
                "time=/ts",
                "--map",
                "tags=/labels",
                "--map",
                "url=/link",
                "--map",
                "group=/shop",
                "--subscribe-frame",
                subscribe,
                "--token",
                "tk_json_feed",
                "--header",
                "X-Api-Key: k-123",
            ],
        )
        .await;
    let run = herald.start(&[]);
    wait_for("the subscribe frame", WAIT, || async {
        let received = feed.received();
        if received.is_empty() {
            Err("nothing received".to_string())
        } else {
            Ok(())
        }
    })
    .await;
    assert_eq!(feed.received(), [subscribe], "sent once, verbatim");
    let requests = feed.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/stream");
    assert_eq!(requests[0].query.as_deref(), Some("channel=orders"));
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer tk_json_feed")
    );
    assert_eq!(requests[0].header("x-api-key"), Some("k-123"));

    let paid = json!({
        "order": {"id": 9912}, "summary": "订单 9912 已支付", "detail": {"text": "¥ 320.00"},
        "level": "high", "ts": "2026-03-01T08:00:00Z", "labels": "paid, vip",
        "link": "https://shop.example.com/o/9912", "shop": "north"
    });
    feed.push_json(&paid);
    // Several objects in one frame.
    feed.push_json(&json!([
        {"order": {"id": "A-1"}, "summary": "Refund requested",
         "detail": {"text": "customer asked for a refund"}, "level": 2, "ts": 1_772_352_000},
        {"order": {"id": "A-2"}, "summary": "Order shipped", "detail": {"text": "via DHL"},
         "ts": 1_772_352_000_123_i64, "labels": ["shipping"]}
    ]));
    feed.push_text("plain words are not json"); // malformed without --text-frames
    feed.push_json(&json!({"unrelated": true})); // nothing to show: malformed
    feed.push_json(&paid); // the same order again: stored once
    feed.push_json(&json!({"order": {"id": "Z"}, "summary": "last one"}));
    let stats = herald.wait_stored(id, 4, WAIT).await;
    assert_eq!(stats["frames_malformed"], 2, "{stats}");
    assert_eq!(stats["frames_rejected"], 0, "{stats}");

    let messages = by_remote_id(&herald.messages_of(id).await);
    let message = &messages["9912"];
    assert_eq!(message["title"], "订单 9912 已支付");
    assert_eq!(message["body"], "¥ 320.00");
    assert_eq!(message["priority"], 4, "\"high\" is 4");
    assert_eq!(message["sent_at"], 1_772_352_000_000_i64);
    assert_eq!(message["tags"], json!(["paid", "vip"]));
    assert_eq!(message["click"], "https://shop.example.com/o/9912");
    assert_eq!(message["group_key"], "north");
    assert_eq!(message["extras"], paid, "the whole object is kept");
    let message = &messages["A-1"];
    assert_eq!(message["priority"], 2);
    assert_eq!(message["raw_priority"], 2);
    assert_eq!(message["sent_at"], 1_772_352_000_000_i64, "seconds");
    let message = &messages["A-2"];
    assert_eq!(message["priority"], 3, "no level: default");
    assert_eq!(message["sent_at"], 1_772_352_000_123_i64, "milliseconds");
    assert_eq!(message["tags"], json!(["shipping"]));
    assert_eq!(messages["Z"]["body"], "");
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(lines.len(), 4, "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_frames_become_plain_messages() {
    let feed = JsonFeed::start().await;
    let herald = Herald::new();
    let id = herald
        .add_source("Backups", "json", &feed.url("/"), &["--text-frames"])
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
    feed.push_text("Backup finished: 182 GiB in 41 min");
    feed.push_json(&json!({"title": "Disk check", "message": "all disks healthy"}));
    feed.push_text("42");
    let stats = herald.wait_stored(id, 3, WAIT).await;
    assert_eq!(stats["frames_malformed"], 0, "{stats}");
    let messages = herald.messages_of(id).await;
    let find = |body: &str| -> Value {
        messages
            .iter()
            .find(|message| message["body"] == body)
            .cloned()
            .unwrap_or_else(|| panic!("no message with body {body:?} in {messages:#?}"))
    };
    let text = find("Backup finished: 182 GiB in 41 min");
    assert_eq!(text["title"], "");
    assert!(
        text["remote_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("text:")),
        "{text}"
    );
    let object = find("all disks healthy");
    assert_eq!(object["title"], "Disk check", "default mapping");
    assert!(
        object["remote_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("hash:")),
        "no id: the content is the id: {object}"
    );
    find("42");
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
}
