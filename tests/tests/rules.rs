//! Routing rules end to end, through the CLI and a running engine: drop
//! (counted, cursor still advances), star/tag/group/mark read stored with
//! the message, webhooks delivered to a loopback server (and failures
//! recorded), and a command that gets the message in its environment and
//! on stdin and cannot be made to run anything else by the message.

use std::path::Path;
use std::time::Duration;

use herald_tests::http_sink::HttpSink;
use herald_tests::ntfy::NtfyServer;
use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::{json, Value};

/// Writes the HERALD_* environment and the JSON from stdin to DIR/<id>.json.
const RECORDER: &str = r#"
import json, os, sys
data = {"env": {k: v for k, v in os.environ.items() if k.startswith("HERALD_")},
        "argv": sys.argv[1:], "stdin": json.load(sys.stdin)}
with open(os.path.join(sys.argv[1], os.environ["HERALD_ID"] + ".json"), "w") as out:
    json.dump(data, out)
"#;

fn rule_ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("rule list is an array")
        .iter()
        .map(|rule| rule["id"].as_i64().expect("rule id"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_route_messages_as_they_arrive() {
    let server = NtfyServer::start("ops").await;
    let sink = HttpSink::start().await;
    let herald = Herald::new();
    let records = herald.scratch("commands");
    std::fs::create_dir_all(&records).expect("records dir");
    let records_arg = records.display().to_string();
    let source = herald
        .add_source("Ops", "ntfy", &server.topic_url(), &[])
        .await;

    // Bad rules are refused with a reason, before anything runs.
    let bad = herald
        .exec(&[
            "rule",
            "add",
            "--name",
            "bad",
            "--title-regex",
            "(",
            "--star",
        ])
        .await;
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("regular expression"), "{}", bad.stderr);
    let no_action = herald.exec(&["rule", "add", "--name", "none"]).await;
    assert!(
        no_action.stderr.contains("at least one action"),
        "{}",
        no_action.stderr
    );
    let bad_url = herald
        .exec(&["rule", "add", "--name", "hook", "--webhook", "ftp://x/y"])
        .await;
    assert!(
        bad_url.stderr.contains("http or https"),
        "{}",
        bad_url.stderr
    );

    let hook_url = sink.url("/hooks/deploy");
    let reject_url = sink.url("/fail-400");
    let source_arg = source.to_string();
    let rules: [&[&str]; 6] = [
        &[
            "--name",
            "webhook deploys",
            "--title",
            "deploy",
            "--webhook",
            &hook_url,
            "--webhook-header",
            "X-Herald-Test: yes",
        ],
        &[
            "--name",
            "drop debug",
            "--tag-any",
            "debug",
            "--drop",
            "--stop",
        ],
        &[
            "--name",
            "page on urgent",
            "--source",
            &source_arg,
            "--min-priority",
            "5",
            "--star",
            "--add-tag",
            "paged",
            "--group",
            "pager",
            "--urgency",
            "critical",
        ],
        &[
            "--name",
            "quiet ci",
            "--title-regex",
            r"^build #\d+ passed$",
            "--mark-read",
            "--silent",
        ],
        &[
            "--name",
            "record orders",
            "--tag-any",
            "orders",
            "--command",
            "python3",
            "--arg",
            "-c",
            "--arg",
            RECORDER,
            "--arg",
            &records_arg,
        ],
        &[
            "--name",
            "rejected hook",
            "--tag-all",
            "reject",
            "--webhook",
            &reject_url,
        ],
    ];
    for rule in rules {
        let mut args = vec!["rule", "add"];
        args.extend_from_slice(rule);
        herald.ok(&args).await;
    }
    // Drop must come first so it stops the others: move it to the top.
    let listed = herald.json(&["rule", "list", "--json"]).await;
    let ids = rule_ids(&listed);
    assert_eq!(ids.len(), 6);
    herald
        .ok(&["rule", "move", &ids[1].to_string(), "--to", "1"])
        .await;
    let listed = herald.json(&["rule", "list", "--json"]).await;
    assert_eq!(listed[0]["name"], "drop debug");
    assert_eq!(listed[1]["name"], "webhook deploys");
    let human = herald.ok(&["rule", "list"]).await;
    assert!(human.contains("when any tag debug → drop"), "{human}");

    let run = herald.start(&[]);
    let hostile_title = format!("$(touch {records_arg}/pwned) `touch {records_arg}/pwned2`");
    let published = server.publish_many([
        json!({"title": "Deploy v2.31 started", "message": "by lin", "tags": ["ci"]}),
        json!({"title": "Disk full", "message": "db-3 at 99%", "priority": 5}),
        json!({"title": "Build #812 passed", "message": "main @ 4f2c1ab"}),
        json!({"title": hostile_title, "message": "; touch pwned3 && echo $HOME",
               "tags": ["orders"], "click": "https://shop.example.com/o/1"}),
        json!({"title": "rejected", "message": "x", "tags": ["reject"]}),
        json!({"title": "noise", "message": "debug output", "tags": ["debug"], "priority": 5}),
    ]);
    herald.wait_stored(source, 5, WAIT).await;
    let stats = wait_for("the drop to be counted", WAIT, || async {
        let stats = herald.source_stats(source).await;
        if stats["messages_dropped"] == 1 {
            Ok(stats)
        } else {
            Err(stats.to_string())
        }
    })
    .await;
    assert_eq!(stats["messages_stored"], 5, "{stats}");

    let messages = by_remote_id(&herald.messages_of(source).await);
    assert!(
        !messages.contains_key(&published[5].id),
        "the debug message was dropped"
    );
    // The cursor still moved past the dropped message (it came last).
    let (cursor, _) = herald.cursor(source).expect("a cursor");
    assert_eq!(cursor, published[5].id);

    let urgent = &messages[&published[1].id];
    assert_eq!(urgent["starred"], true);
    assert_eq!(urgent["tags"], json!(["paged"]));
    assert_eq!(urgent["group_key"], "pager");
    assert_eq!(urgent["read"], false);
    let ci = &messages[&published[2].id];
    assert_eq!(ci["read"], true, "marked read by the rule");
    assert_eq!(ci["starred"], false);
    // Tags added by a rule are searchable like the message's own.
    let found = herald.search("paged").await;
    assert_eq!(found.len(), 1, "{found:?}");

    // The webhook got the message as JSON, with the rule's header.
    let deliveries = wait_for("the webhook delivery", WAIT, || async {
        let requests = sink.requests();
        if requests
            .iter()
            .any(|request| request.path == "/hooks/deploy")
        {
            Ok(requests)
        } else {
            Err(format!("{requests:?}"))
        }
    })
    .await;
    let deploy = deliveries
        .iter()
        .find(|request| request.path == "/hooks/deploy")
        .expect("deploy hook");
    assert_eq!(deploy.method, "POST");
    assert_eq!(deploy.header("x-herald-test"), Some("yes"));
    assert_eq!(deploy.header("content-type"), Some("application/json"));
    let payload = deploy.json();
    assert_eq!(payload["title"], "Deploy v2.31 started");
    assert_eq!(payload["source"], "Ops");
    assert_eq!(payload["remote_id"], published[0].id.as_str());
    assert_eq!(payload["tags"], json!(["ci"]));

    // The command ran once, with the message as data only.
    let hostile = &messages[&published[3].id];
    let record_file = records.join(format!("{}.json", hostile["id"]));
    let record: Value = wait_for("the command's record", WAIT, || async {
        let text = std::fs::read_to_string(&record_file).map_err(|error| error.to_string())?;
        serde_json::from_str(&text).map_err(|error| error.to_string())
    })
    .await;
    assert_eq!(record["env"]["HERALD_TITLE"], hostile_title.as_str());
    assert_eq!(record["env"]["HERALD_BODY"], "; touch pwned3 && echo $HOME");
    assert_eq!(record["env"]["HERALD_SOURCE"], "Ops");
    assert_eq!(record["env"]["HERALD_PRIORITY"], "3");
    assert_eq!(record["env"]["HERALD_TAGS"], "orders");
    assert_eq!(record["env"]["HERALD_URL"], "https://shop.example.com/o/1");
    assert_eq!(record["env"]["HERALD_ID"], hostile["id"].to_string());
    assert_eq!(
        record["argv"],
        json!([records_arg]),
        "arguments are the admin's only"
    );
    assert_eq!(record["stdin"]["title"], hostile_title.as_str());
    assert_eq!(record["stdin"]["body"], "; touch pwned3 && echo $HOME");
    for planted in ["pwned", "pwned2", "pwned3"] {
        assert!(!records.join(planted).exists(), "{planted} must not exist");
        assert!(!Path::new(planted).exists(), "{planted} must not exist");
    }
    let recorded: Vec<_> = std::fs::read_dir(&records)
        .expect("records")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(recorded.len(), 1, "one command run: {recorded:?}");

    // A webhook the server refuses is recorded as a failure, without retries.
    let failures = wait_for("the failed delivery to be recorded", WAIT, || async {
        let failures = herald.json(&["rule", "failures", "--json"]).await;
        if failures.as_array().is_some_and(|all| !all.is_empty()) {
            Ok(failures)
        } else {
            Err(failures.to_string())
        }
    })
    .await;
    assert_eq!(failures[0]["rule_name"], "rejected hook");
    assert_eq!(failures[0]["kind"], "webhook");
    assert_eq!(failures[0]["attempts"], 1);
    assert!(
        failures[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("400")),
        "{failures}"
    );
    assert_eq!(
        sink.requests()
            .iter()
            .filter(|r| r.path == "/fail-400")
            .count(),
        1,
        "a 4xx answer is not retried"
    );

    // A rule changed while Herald runs applies to the next message.
    herald
        .ok(&["rule", "add", "--name", "late", "--title", "late", "--star"])
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let late = server.publish(json!({"title": "late arrival", "message": "x"}));
    herald.wait_stored(source, 6, WAIT).await;
    let messages = by_remote_id(&herald.messages_of(source).await);
    assert_eq!(
        messages[&late.id]["starred"], true,
        "the running engine reloaded its rules"
    );

    // The tester shows what the rules do to stored messages.
    let tested = herald.json(&["rule", "test", "--json"]).await;
    let matched = tested["matched"].as_array().expect("matched");
    let urgent_test = matched
        .iter()
        .find(|entry| entry["id"] == urgent["id"])
        .expect("the urgent message matches");
    assert_eq!(urgent_test["rules"], json!(["page on urgent"]));
    assert_eq!(urgent_test["decision"]["star"], true);
    assert_eq!(urgent_test["decision"]["urgency"], "critical");
    let only = herald
        .json(&["rule", "test", "--rule", &ids[3].to_string(), "--json"])
        .await;
    assert_eq!(only["matched"].as_array().map(Vec::len), Some(1), "{only}");

    let (status, _, stderr) = run.terminate().await;
    assert!(status.success(), "{stderr}");
    let check = herald.check().await;
    assert_eq!(check["sqlite"], "ok", "{check}");
    assert_eq!(check["search_index"], "ok", "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_disturb_is_set_from_the_cli() {
    let herald = Herald::new();
    let off = herald.json(&["dnd", "--json"]).await;
    assert_eq!(off, json!({"on": false, "until": null}));
    let hour = herald.json(&["dnd", "1h", "--json"]).await;
    assert_eq!(hour["on"], true);
    let until = hour["until"].as_i64().expect("until");
    let expected = herald_tests::now_ms() + 3_600_000;
    assert!((until - expected).abs() < 60_000, "{hour}");
    assert_eq!(
        herald.json(&["dnd", "on", "--json"]).await,
        json!({"on": true, "until": null})
    );
    assert!(herald.ok(&["dnd"]).await.contains("until you resume"));
    assert_eq!(herald.json(&["dnd", "off", "--json"]).await["on"], false);
    let bad = herald.exec(&["dnd", "soon"]).await;
    assert!(!bad.status.success());
    assert!(bad.stderr.contains("duration like 30m"), "{}", bad.stderr);
}
