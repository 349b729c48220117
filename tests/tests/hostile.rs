//! Hostile messages through the engine: huge tag lists, bodies past the
//! frame limit, deep nesting, NUL bytes, invalid UTF-8, ids that collide
//! across sources, and times far in the past and future. Each is stored
//! readable or refused with a counted reason; herald keeps running, and
//! the inbox, search and the integrity checks still work. (The window's
//! side of the same corpus is `window.rs`'s hostile scenario.)

use herald_tests::json_feed::JsonFeed;
use herald_tests::ntfy::NtfyServer;
use herald_tests::{by_remote_id, Herald, WAIT};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_are_stored_readable_or_refused_with_a_reason() {
    let server = NtfyServer::start("hostile").await;
    let twin = NtfyServer::start("twin").await;
    let feed = JsonFeed::start().await;
    let herald = Herald::new();
    let id = herald
        .add_source("Hostile", "ntfy", &server.topic_url(), &[])
        .await;
    let twin_id = herald
        .add_source("Twin", "ntfy", &twin.topic_url(), &[])
        .await;
    let feed_id = herald
        .add_source("Feed", "json", &feed.url("/feed"), &[])
        .await;
    let running = herald.start(&[]);
    herald.wait_state(feed_id, "connected").await;

    let now = herald_tests::now_secs();
    let tags: Vec<String> = (0..100_000).map(|index| format!("t{index}")).collect();
    server.publish(json!({ "id": "many-tags", "title": "100,000 tags", "tags": tags }));
    server.publish(json!({ "id": "nul-bytes", "title": "nul\u{0}in\u{0}title", "message": "body\u{0}with\u{0}nul" }));
    server.publish(json!({ "id": "bidi", "title": "invoice\u{202E}fdp.exe", "message": "\u{2066}isolated\u{2069}" }));
    server.publish(json!({ "id": "past", "time": 0, "title": "from 1970" }));
    server.publish(json!({ "id": "negative", "time": -62_135_596_800_i64, "title": "year 1" }));
    server.publish(json!({ "id": "future", "time": 253_402_300_799_i64, "title": "year 9999" }));
    server.publish(json!({ "id": "overflow", "time": i64::MAX, "title": "the end of time" }));
    server.publish(json!({ "id": "huge-title", "title": "标题".repeat(100_000), "message": "a title of 200,000 characters" }));
    // The same id on two sources: two different messages.
    server.publish(json!({ "id": "collide", "title": "from hostile" }));
    twin.publish(json!({ "id": "collide", "title": "from twin" }));
    // Past the 1 MiB frame limit: refused and counted, nothing stored.
    server.send_raw_text(
        json!({ "id": "ten-mb", "time": now, "event": "message", "topic": "hostile", "message": "x".repeat(10 << 20) })
            .to_string(),
    );
    // Not JSON, not UTF-8, nested past any parser's patience.
    server.send_raw_binary(vec![0xc3, 0x28, 0xff, 0x00]);
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    feed.push_text(format!(r#"{{"id":"deep","title":"deep","extra":{deep}}}"#));
    feed.push_json(&json!({ "id": "collide", "title": "from the feed" }));
    server.publish(json!({ "id": "after", "title": "still listening" }));

    herald.wait_stored(id, 10, WAIT).await;
    herald.wait_stored(twin_id, 1, WAIT).await;
    herald.wait_stored(feed_id, 1, WAIT).await;
    let stats = herald.source_stats(id).await;
    assert_eq!(stats["frames_rejected"], 1, "the 10 MB frame: {stats}");
    assert!(stats["frames_malformed"].as_u64() >= Some(1), "{stats}");
    let feed_stats = herald.source_stats(feed_id).await;
    assert_eq!(
        feed_stats["frames_malformed"], 1,
        "the deep nesting: {feed_stats}"
    );

    let messages = by_remote_id(&herald.messages_of(id).await);
    let message = |remote: &str| -> &Value {
        messages
            .get(remote)
            .unwrap_or_else(|| panic!("{remote} stored: {:?}", messages.keys()))
    };
    assert_eq!(
        message("many-tags")["tags"].as_array().map(Vec::len),
        Some(100_000)
    );
    // Stored as sent (nothing is lost), shown harmless: the terminal
    // listing prints no raw control characters.
    assert_eq!(message("nul-bytes")["title"], "nul\u{0}in\u{0}title");
    let listing = herald.ok(&["messages", "list", "--limit", "100"]).await;
    assert!(
        !listing.contains(['\u{0}', '\u{202E}', '\u{2066}']),
        "raw control characters reach the terminal:\n{listing}"
    );
    let bidi = message("bidi")["title"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(bidi.starts_with("invoice"), "{bidi}");
    for remote in [
        "past",
        "negative",
        "future",
        "overflow",
        "huge-title",
        "after",
        "collide",
    ] {
        message(remote);
    }
    let sent = |remote: &str| message(remote)["sent_at"].as_i64().expect("a time");
    assert_eq!(sent("past"), 0);
    assert!(sent("future") > sent("past"));
    assert!(
        sent("overflow") >= sent("future"),
        "a time past the range is clamped, not wrapped"
    );
    assert!(!messages.contains_key("ten-mb"));

    // Ids collide across sources and nothing is merged.
    let twin_messages = by_remote_id(&herald.messages_of(twin_id).await);
    assert_eq!(twin_messages["collide"]["title"], "from twin");
    let feed_messages = by_remote_id(&herald.messages_of(feed_id).await);
    assert_eq!(feed_messages["collide"]["title"], "from the feed");
    assert_eq!(message("collide")["title"], "from hostile");

    // The inbox still works: listing, search, checks.
    let hits = herald.search("listening").await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
    let (status, _, stderr) = running.terminate().await;
    assert!(status.success(), "{stderr}");
}
