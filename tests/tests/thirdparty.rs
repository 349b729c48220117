//! Herald against a WebSocket server it shares no code with: Python's
//! `websockets` package replaying a recorded ntfy stream
//! (`fixtures/replay_server.py`, `fixtures/ntfy-recorded.jsonl`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use herald_tests::{by_remote_id, wait_for, Herald, WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Fails (never skips) when Python or its `websockets` package is missing.
async fn require_python_websockets() {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import websockets, websockets.asyncio.server; print(websockets.__version__)",
        ])
        .stdin(Stdio::null())
        .output()
        .await;
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "this test needs Python's `websockets` package (version 13 or later): \
             run `pip install websockets`. python3 said: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => panic!(
            "this test needs python3 with the `websockets` package ({error}): \
             install Python 3, then run `pip install websockets`"
        ),
    }
}

/// The replay server's stdout, line by line.
#[derive(Clone, Default)]
struct Said(Arc<Mutex<Vec<String>>>);

impl Said {
    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn wait_line(&self, what: &str, pick: impl Fn(&str) -> bool) -> String {
        let pick = &pick;
        wait_for(what, WAIT, || async move {
            let lines = self.lines();
            lines
                .iter()
                .find(|line| pick(line))
                .cloned()
                .ok_or_else(|| format!("{lines:?}"))
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_stream_from_python_websockets_is_stored_once() {
    require_python_websockets().await;
    let recording = fixture("ntfy-recorded.jsonl");
    let events: Vec<Value> = std::fs::read_to_string(&recording)
        .expect("the recording is readable")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("each recorded line is json"))
        .collect();
    assert_eq!(events.len(), 30);
    let last_id = events
        .last()
        .and_then(|event| event["id"].as_str())
        .expect("the last event has an id")
        .to_string();

    let mut server = Command::new("python3")
        .arg(fixture("replay_server.py"))
        .arg("--file")
        .arg(&recording)
        .args(["--port", "0", "--close-first"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts the replay server");
    let said = Said::default();
    {
        let said = said.clone();
        let stdout = server.stdout.take().expect("stdout is piped");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                said.0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(line);
            }
        });
    }
    let listening = said
        .wait_line("the replay server to listen", |line| {
            line.starts_with("LISTENING ")
        })
        .await;
    let port: u16 = listening["LISTENING ".len()..]
        .trim()
        .parse()
        .expect("a port number");

    let herald = Herald::new();
    let id = herald
        .add_source(
            "Recorded",
            "ntfy",
            &format!("http://127.0.0.1:{port}/alerts,backups"),
            &[],
        )
        .await;
    let run = herald.start(&[]);
    herald.wait_stored(id, 30, WAIT).await;
    let first = said
        .wait_line("the first connection", |line| {
            line.starts_with("CONNECT 1 ")
        })
        .await;
    assert_eq!(first, "CONNECT 1 path=/alerts,backups/ws since=all");

    // The server drops the first connection; Herald comes back, resumes
    // after the last message it stored, and gets nothing new.
    let second = said
        .wait_line("a reconnect", |line| line.starts_with("CONNECT 2 "))
        .await;
    assert_eq!(
        second,
        format!("CONNECT 2 path=/alerts,backups/ws since={last_id}")
    );
    said.wait_line("the second replay", |line| line.starts_with("REPLAYED 2 "))
        .await;
    assert!(said.lines().contains(&"REPLAYED 2 0".to_string()));
    let source = herald.source_stats(id).await;
    assert_eq!(source["stored"], 30, "{source}");
    assert_eq!(source["messages_stored"], 30, "{source}");
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert_eq!(lines.len(), 30, "one line per message: {lines:#?}");

    let stored = by_remote_id(&herald.messages_of(id).await);
    assert_eq!(stored.len(), 30);
    for event in &events {
        let id = event["id"].as_str().expect("id");
        let message = &stored[id];
        let or = |field: &str, default: Value| {
            let value = event[field].clone();
            if value.is_null() {
                default
            } else {
                value
            }
        };
        assert_eq!(message["topic"], event["topic"], "{id}");
        assert_eq!(message["title"], or("title", json!("")), "{id}");
        assert_eq!(message["body"], event["message"], "{id}");
        assert_eq!(message["priority"], or("priority", json!(3)), "{id}");
        assert_eq!(message["raw_priority"], event["priority"], "{id}");
        assert_eq!(message["tags"], or("tags", json!([])), "{id}");
        assert_eq!(message["click"], event["click"], "{id}");
        assert_eq!(message["icon"], event["icon"], "{id}");
        assert_eq!(message["actions"], event["actions"], "{id}");
        assert_eq!(message["attachment"], event["attachment"], "{id}");
        let markdown = event["content_type"] == "text/markdown";
        assert_eq!(
            message["format"],
            if markdown { "markdown" } else { "text" },
            "{id}"
        );
        assert_eq!(
            message["sent_at"],
            event["time"].as_i64().expect("time") * 1000
        );
        assert_eq!(
            message["expires_at"],
            event["expires"].as_i64().expect("expires") * 1000
        );
    }

    // A restart resumes the same way: zero new.
    let run = herald.start(&[]);
    let third = said
        .wait_line("the connection after a restart", |line| {
            line.starts_with("CONNECT 3 ")
        })
        .await;
    assert_eq!(
        third,
        format!("CONNECT 3 path=/alerts,backups/ws since={last_id}")
    );
    said.wait_line("the third replay", |line| line.starts_with("REPLAYED 3 "))
        .await;
    assert!(said.lines().contains(&"REPLAYED 3 0".to_string()));
    let (status, lines, stderr) = run.terminate().await;
    assert!(status.success(), "stderr:\n{stderr}");
    assert!(lines.is_empty(), "nothing new to print: {lines:#?}");
    assert_eq!(herald.source_stats(id).await["stored"], 30);
    let _ = server.start_kill();
    let _ = tokio::time::timeout(WAIT, server.wait()).await;
}
