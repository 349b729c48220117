//! The command line as scripts use it: export/import round trip, search in
//! English and Chinese, and errors that are one readable line.

use std::collections::HashSet;

use herald_tests::ntfy::NtfyServer;
use herald_tests::{by_remote_id, Herald, WAIT};
use serde_json::{json, Value};

/// Title, body, tags. Chosen so each query below has a known answer.
const INBOX: &[(&str, &str, &[&str])] = &[
    (
        "仓库 A3 库存告警",
        "SKU-1142「保温杯」库存 12 件,低于安全库存 50 件。",
        &["warning"],
    ),
    ("Stock check", "all shelves counted", &["库存"]),
    ("入库单 RK-2207 已完成", "供应商到货 120 件。", &["erp"]),
    ("订单 #10483 已支付", "金额 ¥1,299.00,微信支付。", &["订单"]),
    (
        "Deploy to production started",
        "release v2.31.0 by @lin",
        &["rocket"],
    ),
    (
        "Rollback",
        "the deployment of v2.31.0 was rolled back",
        &["ci"],
    ),
    ("Redeploy scheduled", "nightly at 02:00", &["ci"]),
    ("Build #812 passed", "main @ 4f2c1ab", &["ci"]),
];

fn remote_ids_of(hits: &[Value]) -> HashSet<String> {
    hits.iter()
        .map(|hit| {
            hit["message"]["remote_id"]
                .as_str()
                .unwrap_or_else(|| panic!("a search hit has message.remote_id: {hit}"))
                .to_string()
        })
        .collect()
}

/// Searches and checks the hits are exactly the messages whose title,
/// body or tags satisfy `matches`, newest first, with highlights.
async fn check_search(
    herald: &Herald,
    query: &str,
    ids: &[String],
    matches: impl Fn(&str, &str, &[&str]) -> bool,
) {
    let hits = herald.search(query).await;
    let expected: HashSet<String> = INBOX
        .iter()
        .zip(ids)
        .filter(|((title, body, tags), _)| matches(title, body, tags))
        .map(|(_, id)| id.clone())
        .collect();
    assert!(
        !expected.is_empty(),
        "the query {query:?} should find something"
    );
    assert_eq!(
        remote_ids_of(&hits),
        expected,
        "search {query:?}: {hits:#?}"
    );
    let row_ids: Vec<i64> = hits
        .iter()
        .map(|hit| hit["message"]["id"].as_i64().expect("message id"))
        .collect();
    assert!(
        row_ids.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first: {row_ids:?}"
    );
    for hit in &hits {
        for part in ["title", "snippet"] {
            assert!(
                hit[part]["text"].is_string() && hit[part]["highlights"].is_array(),
                "{part} of {hit}"
            );
        }
    }
}

async fn check_all_searches(herald: &Herald, ids: &[String]) {
    let words = |title: &str, body: &str, tags: &[&str]| {
        format!("{title} {body} {}", tags.join(" ")).to_lowercase()
    };
    check_search(herald, "库存", ids, |title, body, tags| {
        words(title, body, tags).contains("库存")
    })
    .await;
    check_search(herald, "库", ids, |title, body, tags| {
        words(title, body, tags).contains('库')
    })
    .await;
    // A whole word, any case; not inside another one ("Redeploy").
    check_search(herald, "deploy", ids, |title, body, tags| {
        words(title, body, tags)
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == "deploy")
    })
    .await;
    // `word*` asks for a prefix of a word: "Deployment" too.
    check_search(herald, "deploy*", ids, |title, body, tags| {
        words(title, body, tags)
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word.starts_with("deploy"))
    })
    .await;
    check_search(herald, "已支付", ids, |title, body, tags| {
        words(title, body, tags).contains("已支付")
    })
    .await;
    assert!(herald.search("nothing-like-this").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_round_trip_and_search_in_english_and_chinese() {
    let server = NtfyServer::start("inbox").await;
    let mut ids = Vec::new();
    for (index, (title, body, tags)) in INBOX.iter().enumerate() {
        let mut fields = json!({
            "title": title, "message": body, "tags": tags, "priority": 1 + index % 5,
        });
        if index == 0 {
            fields["click"] = json!("https://erp.example.com/stock/SKU-1142");
            fields["actions"] =
                json!([{"action": "view", "label": "Open", "url": "https://erp.example.com"}]);
            fields["content_type"] = json!("text/markdown");
        }
        ids.push(server.publish(fields).id);
    }
    let first = Herald::new();
    let source = first
        .add_source("Inbox", "ntfy", &server.topic_url(), &[])
        .await;
    let run = first.start(&["--quiet"]);
    first.wait_stored(source, INBOX.len() as u64, WAIT).await;
    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");

    // Triage, so the export has state to carry.
    let stored = by_remote_id(&first.messages().await);
    let row = |index: usize| stored[&ids[index]]["id"].to_string();
    first.ok(&["messages", "star", &row(0)]).await;
    first.ok(&["messages", "read", &row(1)]).await;
    first.ok(&["messages", "archive", &row(2)]).await;
    first
        .ok(&["messages", "snooze", &row(3), "--until", "+2h"])
        .await;
    check_all_searches(&first, &ids).await;

    let file = first.scratch("export.jsonl");
    let file_name = file.to_str().expect("a utf-8 temp path");
    let said = first.ok(&["export", file_name]).await;
    assert!(
        said.contains(&format!("exported {} messages", INBOX.len())),
        "{said}"
    );
    let text = std::fs::read_to_string(&file).expect("the export is readable");
    assert_eq!(text.lines().count(), INBOX.len());
    for line in text.lines() {
        serde_json::from_str::<Value>(line).expect("each line is a json object");
    }

    let second = Herald::new();
    let said = second.ok(&["import", file_name]).await;
    assert!(
        said.contains(&format!(
            "imported {} messages (0 already stored)",
            INBOX.len()
        )),
        "{said}"
    );
    assert!(said.contains("created disabled source \"Inbox\""), "{said}");
    let said = second.ok(&["import", file_name]).await;
    assert!(
        said.contains(&format!(
            "imported 0 messages ({} already stored)",
            INBOX.len()
        )),
        "importing twice adds nothing: {said}"
    );
    let sources = second.sources().await;
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["name"], "Inbox");
    assert_eq!(sources[0]["enabled"], false);

    let before = by_remote_id(&first.messages().await);
    let after = by_remote_id(&second.messages().await);
    assert_eq!(after.len(), before.len());
    for (remote_id, original) in &before {
        let copy = &after[remote_id];
        for field in [
            "remote_id",
            "source_name",
            "received_at",
            "sent_at",
            "expires_at",
            "topic",
            "title",
            "body",
            "format",
            "priority",
            "raw_priority",
            "tags",
            "click",
            "icon",
            "actions",
            "attachment",
            "group_key",
            "extras",
            "read",
            "starred",
            "snoozed_until",
            "archived_at",
        ] {
            assert_eq!(copy[field], original[field], "{field} of {remote_id}");
        }
    }
    assert_eq!(after[&ids[0]]["starred"], true);
    assert_eq!(after[&ids[1]]["read"], true);
    assert!(after[&ids[2]]["archived_at"].is_i64());
    assert!(after[&ids[3]]["snoozed_until"].is_i64());
    // The imported copy is searchable the same way.
    check_all_searches(&second, &ids).await;
    for herald in [&first, &second] {
        let check = herald.check().await;
        assert_eq!(check["sqlite"], "ok", "{check}");
        assert_eq!(check["search_index"], "ok", "{check}");
        assert_eq!(check["messages"], INBOX.len(), "{check}");
        assert_eq!(check["indexed"], INBOX.len(), "{check}");
    }
}

/// Fails the test unless `args` exits non-zero with exactly one line on
/// stderr: `herald: ` and a message that starts in lowercase.
async fn expect_one_line_error(herald: &Herald, args: &[&str], mentions: &str) {
    let output = herald.exec(args).await;
    let shown = format!(
        "`herald {}`: {}\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        output.stdout,
        output.stderr
    );
    assert!(!output.status.success(), "must fail: {shown}");
    let lines = output.stderr_lines();
    assert_eq!(lines.len(), 1, "exactly one line on stderr: {shown}");
    let message = lines[0]
        .strip_prefix("herald: ")
        .unwrap_or_else(|| panic!("starts with \"herald: \": {shown}"));
    let first = message.chars().next().unwrap_or(' ');
    assert!(
        first.is_lowercase() || (!first.is_alphabetic() && !first.is_whitespace()),
        "the message starts in lowercase: {shown}"
    );
    assert!(
        message.contains(mentions),
        "the message mentions {mentions:?}: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_lowercase_line_on_stderr() {
    let herald = Herald::new();
    let add = ["source", "add", "--name", "x", "--protocol"];
    expect_one_line_error(
        &herald,
        &[&add[..], &["ntfy", "--url", "not a url"]].concat(),
        "invalid url",
    )
    .await;
    expect_one_line_error(
        &herald,
        &[&add[..], &["ntfy", "--url", "ftp://example.com/alerts"]].concat(),
        "ftp",
    )
    .await;
    expect_one_line_error(
        &herald,
        &[&add[..], &["ntfy", "--url", "https://ntfy.example.com/"]].concat(),
        "topic",
    )
    .await;
    expect_one_line_error(
        &herald,
        &[
            &add[..],
            &[
                "json",
                "--url",
                "ws://127.0.0.1:9/feed",
                "--map",
                "colour=/c",
            ],
        ]
        .concat(),
        "colour",
    )
    .await;
    expect_one_line_error(
        &herald,
        &[
            &add[..],
            &[
                "json",
                "--url",
                "ws://127.0.0.1:9/feed",
                "--map",
                "title=data",
            ],
        ]
        .concat(),
        "must start with '/'",
    )
    .await;
    expect_one_line_error(
        &herald,
        &[
            &add[..],
            &["ntfy", "--url", "ws://127.0.0.1:9/a", "--map", "title=/t"],
        ]
        .concat(),
        "json, stomp and mqtt sources only",
    )
    .await;
    for command in [
        &["source", "remove", "4242"][..],
        &["source", "enable", "4242"][..],
        &["source", "disable", "4242"][..],
        &["source", "test", "4242"][..],
    ] {
        expect_one_line_error(&herald, command, "4242").await;
    }
    expect_one_line_error(&herald, &["messages", "read"], "ids").await;
    expect_one_line_error(
        &herald,
        &["messages", "snooze", "1", "--until", "tomorrow"],
        "until",
    )
    .await;
    expect_one_line_error(&herald, &["import", "/nonexistent/export.jsonl"], "import").await;
    // Nothing half-made was left behind by the failed adds.
    assert!(herald.sources().await.is_empty());
    // A duplicate name is refused the same way.
    let url = "ws://127.0.0.1:9/alerts";
    herald.add_source("dup", "ntfy", url, &[]).await;
    expect_one_line_error(
        &herald,
        &[
            "source",
            "add",
            "--name",
            "dup",
            "--protocol",
            "ntfy",
            "--url",
            url,
        ],
        "already exists",
    )
    .await;
}
