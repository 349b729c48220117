//! The local publish API end to end: `herald publish-api on` makes a token,
//! `herald run --headless` listens on 127.0.0.1, and curl and `herald
//! publish` put messages in the inbox. A wrong or missing token, a Host
//! header that is not loopback, an oversized body, and bad fields get clear
//! HTTP errors and store nothing.

use std::process::Command;

use herald_tests::{by_remote_id, free_port, Herald, WAIT};
use serde_json::Value;

/// Runs curl; returns the HTTP status and the body.
fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_publish_through_the_local_api() {
    let herald = Herald::new();
    let port = free_port();
    let port_arg = port.to_string();

    let refused = herald.exec(&["publish", "backups", "hello"]).await;
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("publish api is off"),
        "{}",
        refused.stderr
    );
    let low = herald.exec(&["publish-api", "on", "--port", "80"]).await;
    assert!(low.stderr.contains("1024"), "{}", low.stderr);

    let on = herald
        .json(&["publish-api", "on", "--port", &port_arg, "--json"])
        .await;
    let token = on["token"]
        .as_str()
        .expect("a token is shown once")
        .to_string();
    let source = on["source_id"].as_i64().expect("the api's source");
    let again = herald.json(&["publish-api", "--json"]).await;
    assert!(
        again.get("token").is_none(),
        "the token is shown only when made: {again}"
    );
    let listed = herald.ok(&["source", "list", "--json"]).await;
    assert!(
        !listed.contains(&token),
        "source list never shows the token"
    );

    let running = herald.start(&[]);
    herald.wait_state(source, "connected").await;
    let url = format!("http://127.0.0.1:{port}/publish/backups");
    let bearer = format!("Authorization: Bearer {token}");

    // curl with ntfy-style headers.
    let (status, body) = curl(&[
        "-H",
        &bearer,
        "-H",
        "Title: Nightly backup",
        "-H",
        "Priority: high",
        "-H",
        "Tags: backup,ok",
        "-H",
        "Message-Id: backup-1",
        "-d",
        "Backup finished in 42 s",
        &url,
    ]);
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json answer");
    assert!(answer["id"].as_i64().is_some(), "{answer}");
    // The same message id again is a duplicate, not a second message.
    let (status, body) = curl(&[
        "-H",
        &bearer,
        "-H",
        "Message-Id: backup-1",
        "-d",
        "again",
        &url,
    ]);
    assert_eq!((status, body.contains("duplicate")), (200, true), "{body}");

    // A JSON body, and the CLI, which finds the token itself.
    let (status, body) = curl(&[
        "-H",
        &bearer,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"id":"ci-9","title":"CI","message":"pipeline **green**","markdown":true,"tags":["ci"]}"#,
        &format!("http://127.0.0.1:{port}/publish/ci"),
    ]);
    assert_eq!(status, 200, "{body}");
    let published = herald
        .ok(&[
            "publish",
            "deploys",
            "Deployed 2.3.1",
            "--title",
            "Deploy",
            "--priority",
            "4",
            "--id",
            "deploy-231",
        ])
        .await;
    assert!(published.contains("stored as message"), "{published}");

    // Refusals: each a clear status, nothing stored.
    let big = "x".repeat(2 * 1024 * 1024);
    let big_file = herald.scratch("big.txt");
    std::fs::write(&big_file, big).expect("write the big body");
    let big_arg = format!("@{}", big_file.display());
    let cases: [(&[&str], u16, &str); 7] = [
        (&["-d", "no token", &url], 401, "Bearer"),
        (
            &["-H", "Authorization: Bearer wrong", "-d", "x", &url],
            401,
            "token is wrong",
        ),
        (
            &["-H", &bearer, "-H", "Host: evil.example", "-d", "x", &url],
            421,
            "127.0.0.1",
        ),
        (
            &["-H", &bearer, "--data-binary", &big_arg, &url],
            413,
            "larger than",
        ),
        (
            &["-H", &bearer, "-H", "Priority: 9", "-d", "x", &url],
            400,
            "1 to 5",
        ),
        (
            &[
                "-H",
                &bearer,
                "-H",
                "Click: javascript:alert(1)",
                "-d",
                "x",
                &url,
            ],
            400,
            "http, https or mailto",
        ),
        (
            &[
                "-H",
                &bearer,
                "-d",
                "x",
                &format!("http://127.0.0.1:{port}/publish/a%20b"),
            ],
            400,
            "topic",
        ),
    ];
    for (args, expected, says) in cases {
        let (status, body) = curl(args);
        assert_eq!(status, expected, "{args:?}: {body}");
        assert!(body.contains(says), "{args:?} should say {says:?}: {body}");
    }

    herald.wait_stored(source, 3, WAIT).await;
    let messages = by_remote_id(&herald.messages_of(source).await);
    let backup = &messages["backup-1"];
    assert_eq!(backup["title"], "Nightly backup", "{backup}");
    assert_eq!(backup["priority"], 4, "{backup}");
    assert_eq!(backup["topic"], "backups", "{backup}");
    assert_eq!(
        messages["ci-9"]["format"], "markdown",
        "{}",
        messages["ci-9"]
    );
    assert_eq!(messages["deploy-231"]["title"], "Deploy");

    // A new token: the old one stops working once Herald restarts the listener.
    running.terminate().await;
    let renewed = herald.json(&["publish-api", "token", "--json"]).await;
    let new_token = renewed["token"].as_str().expect("a new token").to_string();
    assert_ne!(new_token, token);
    let _running = herald.start(&[]);
    herald.wait_state(source, "connected").await;
    let (status, _) = curl(&["-H", &bearer, "-d", "old token", &url]);
    assert_eq!(status, 401);
    let (status, body) = curl(&[
        "-H",
        &format!("Authorization: Bearer {new_token}"),
        "-d",
        "new token",
        &url,
    ]);
    assert_eq!(status, 200, "{body}");
}
