//! Rule outputs that leave Herald: webhooks and local commands. They run
//! after the message is committed, on their own tasks, and never slow
//! ingestion down: the queue is bounded and a full queue is recorded as a
//! failure, not waited on.
//!
//! - A **webhook** POSTs the message as JSON, retrying connection errors,
//!   429 and 5xx with growing pauses for a bounded time.
//! - A **command** runs a program the admin chose, with its own arguments;
//!   the message goes into `HERALD_*` environment variables and, as JSON,
//!   to its stdin. Nothing from a message ever becomes a program or an
//!   argument, and no shell is involved.
//!
//! Failures are written to `delivery_failures`, where the CLI and the
//! rules screen show them.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Semaphore};

use crate::i18n::{count, text};
use crate::model::{now_ms, SourceId};
use crate::rules::{Action, Delivery};
use crate::store::rules::{record_delivery_failure, DeliveryFailure};
use crate::store::{Store, StoredMessage};

/// The message as webhooks and commands receive it.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    pub id: i64,
    pub source_id: i64,
    pub source: String,
    pub remote_id: String,
    pub topic: Option<String>,
    pub title: String,
    pub body: String,
    pub priority: u8,
    pub tags: Vec<String>,
    pub click: Option<String>,
    pub group: Option<String>,
    pub sent_at: i64,
    pub received_at: i64,
}

impl Payload {
    pub fn new(stored: &StoredMessage, source: &str) -> Payload {
        let message = &stored.message;
        Payload {
            id: stored.id.0,
            source_id: stored.source_id.0,
            source: source.to_string(),
            remote_id: message.remote_id.clone(),
            topic: message.topic.clone(),
            title: message.title.clone(),
            body: message.body.clone(),
            priority: message.priority.get(),
            tags: message.tags.clone(),
            click: message.click.clone(),
            group: message.group_key.clone(),
            sent_at: message.sent_at,
            received_at: stored.received_at,
        }
    }

    /// The `HERALD_*` environment of a command. Values are bounded (Linux
    /// refuses single variables over 128 KiB) and NUL characters, which an
    /// environment cannot hold, become U+FFFD; the full text is on stdin.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        const MAX_CHARS: usize = 32 * 1024;
        let clean = |text: &str| -> String {
            text.chars()
                .take(MAX_CHARS)
                .map(|c| if c == '\0' { '\u{FFFD}' } else { c })
                .collect()
        };
        vec![
            ("HERALD_ID", self.id.to_string()),
            ("HERALD_SOURCE", clean(&self.source)),
            ("HERALD_TOPIC", clean(self.topic.as_deref().unwrap_or(""))),
            ("HERALD_TITLE", clean(&self.title)),
            ("HERALD_BODY", clean(&self.body)),
            ("HERALD_PRIORITY", self.priority.to_string()),
            ("HERALD_TAGS", clean(&self.tags.join(","))),
            ("HERALD_URL", clean(self.click.as_deref().unwrap_or(""))),
        ]
    }
}

/// How many deliveries may wait; beyond that they fail at once.
const QUEUE: usize = 1024;
/// Webhooks in flight at once.
const WEBHOOKS_AT_ONCE: usize = 8;
/// Commands running at once.
const COMMANDS_AT_ONCE: usize = 4;
/// How long a webhook keeps being retried.
const WEBHOOK_PATIENCE: Duration = Duration::from_secs(60);
/// The largest webhook response read (it is only checked for its status).
const WEBHOOK_RESPONSE_BYTES: usize = 64 * 1024;

struct Job {
    delivery: Delivery,
    payload: Arc<Payload>,
}

/// Sends deliveries to the worker task; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    jobs: mpsc::Sender<Job>,
    store: Store,
}

impl Dispatcher {
    /// Starts the worker. It stops when every `Dispatcher` is dropped and
    /// the deliveries already started have finished.
    pub fn start(store: Store) -> (Dispatcher, tokio::task::JoinHandle<()>) {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let worker = tokio::spawn(work(queue, store.clone()));
        (Dispatcher { jobs, store }, worker)
    }

    /// Queues the deliveries of newly stored messages; never waits.
    pub fn send(&self, stored: &[StoredMessage], names: &HashMap<SourceId, String>) {
        for message in stored {
            if message.decision.deliveries.is_empty() {
                continue;
            }
            let source = names.get(&message.source_id).map_or("", String::as_str);
            let payload = Arc::new(Payload::new(message, source));
            for delivery in &message.decision.deliveries {
                let job = Job {
                    delivery: delivery.clone(),
                    payload: payload.clone(),
                };
                if let Err(
                    mpsc::error::TrySendError::Full(job) | mpsc::error::TrySendError::Closed(job),
                ) = self.jobs.try_send(job)
                {
                    record(
                        &self.store,
                        &job.delivery,
                        job.payload.id,
                        0,
                        text("delivery.queue_full", &[]),
                    );
                }
            }
        }
    }
}

async fn work(mut queue: mpsc::Receiver<Job>, store: Store) {
    let webhooks = Arc::new(Semaphore::new(WEBHOOKS_AT_ONCE));
    let commands = Arc::new(Semaphore::new(COMMANDS_AT_ONCE));
    let mut running = tokio::task::JoinSet::new();
    while let Some(job) = queue.recv().await {
        let limit = match job.delivery.action {
            Action::Command { .. } => commands.clone(),
            _ => webhooks.clone(),
        };
        let Ok(permit) = limit.acquire_owned().await else {
            return;
        };
        let store = store.clone();
        running.spawn(async move {
            let outcome = deliver(&job.delivery.action, &job.payload).await;
            drop(permit);
            if let Err((attempts, error)) = outcome {
                tracing::warn!(rule = %job.delivery.rule_name, %error, "delivery failed");
                record(&store, &job.delivery, job.payload.id, attempts, error);
            }
        });
        // Reap finished deliveries so the set does not grow.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// Carries out one action; on failure, how many attempts were made and why.
pub async fn deliver(action: &Action, payload: &Payload) -> Result<(), (u32, String)> {
    match action {
        Action::Webhook {
            url,
            headers,
            timeout_secs,
        } => {
            webhook(
                url,
                headers,
                Duration::from_secs(u64::from(*timeout_secs)),
                payload,
            )
            .await
        }
        Action::Command {
            program,
            args,
            timeout_secs,
        } => command(
            program,
            args,
            Duration::from_secs(u64::from(*timeout_secs)),
            payload,
        )
        .await
        .map_err(|error| (1, error)),
        _ => Ok(()),
    }
}

async fn webhook(
    url: &str,
    headers: &[(String, String)],
    timeout: Duration,
    payload: &Payload,
) -> Result<(), (u32, String)> {
    let parsed = url::Url::parse(url).map_err(|error| {
        (
            0,
            text("delivery.url_invalid", &[("error", &error.to_string())]),
        )
    })?;
    let tls = crate::source::tls::client_config(None).map_err(|error| (0, error))?;
    let body = serde_json::to_vec(payload).map_err(|error| (0, error.to_string()))?;
    let mut all_headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    all_headers.extend(headers.iter().cloned());
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(500);
    let mut attempts = 0;
    loop {
        attempts += 1;
        let outcome = crate::source::http::request(
            "POST",
            &parsed,
            &all_headers,
            Some(&body),
            &tls,
            timeout,
            WEBHOOK_RESPONSE_BYTES,
        )
        .await;
        let answered = |status: u16| {
            text(
                "delivery.server_answered",
                &[("status", &status.to_string())],
            )
        };
        let error = match outcome {
            Ok(response) if (200..300).contains(&response.status) => return Ok(()),
            Ok(response) if response.status == 429 || response.status >= 500 => {
                answered(response.status)
            }
            Ok(response) => return Err((attempts, answered(response.status))),
            Err(error) => error,
        };
        if started.elapsed() + pause > WEBHOOK_PATIENCE {
            return Err((
                attempts,
                count(
                    "delivery.gave_up",
                    u64::from(attempts),
                    &[("error", &error)],
                ),
            ));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(15));
    }
}

async fn command(
    program: &str,
    args: &[String],
    timeout: Duration,
    payload: &Payload,
) -> Result<(), String> {
    let stdin = serde_json::to_vec(payload).map_err(|error| error.to_string())?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(payload.environment())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| {
            text(
                "delivery.cannot_start",
                &[("program", program), ("error", &error.to_string())],
            )
        })?;
    let mut input = child.stdin.take();
    let run = async {
        if let Some(input) = input.as_mut() {
            // A program that does not read its stdin is fine.
            let _ = input.write_all(&stdin).await;
        }
        drop(input);
        child.wait_with_output().await
    };
    let output = tokio::time::timeout(timeout, run)
        .await
        .map_err(|_| {
            text(
                "delivery.timed_out",
                &[
                    ("program", program),
                    ("secs", &timeout.as_secs().to_string()),
                ],
            )
        })?
        .map_err(|error| {
            text(
                "delivery.failed",
                &[("program", program), ("error", &error.to_string())],
            )
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: String = stderr
        .trim()
        .chars()
        .rev()
        .take(300)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Err(text(
        "delivery.exited",
        &[
            ("program", program),
            ("status", &output.status.to_string()),
            ("stderr", &tail),
        ],
    ))
}

fn record(store: &Store, delivery: &Delivery, message_id: i64, attempts: u32, error: String) {
    let (kind, target) = match &delivery.action {
        Action::Webhook { url, .. } => (
            "webhook",
            url::Url::parse(url)
                .map(|url| crate::source::http::redacted(&url))
                .unwrap_or_default(),
        ),
        Action::Command { program, .. } => ("command", program.clone()),
        _ => return,
    };
    let failure = DeliveryFailure {
        id: 0,
        rule_id: Some(delivery.rule_id),
        rule_name: delivery.rule_name.clone(),
        message_id: Some(message_id),
        kind: kind.into(),
        target,
        attempts,
        error,
        failed_at: now_ms(),
    };
    let store = store.clone();
    // Recording must not wait on the writer from a task that feeds it.
    tokio::spawn(async move {
        let result = store
            .write_async(move |transaction| record_delivery_failure(transaction, &failure))
            .await;
        if let Err(error) = result {
            tracing::warn!(%error, "could not record a delivery failure");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn payload(title: &str, body: &str) -> Payload {
        Payload {
            id: 42,
            source_id: 1,
            source: "Ops".into(),
            remote_id: "r1".into(),
            topic: Some("alerts".into()),
            title: title.into(),
            body: body.into(),
            priority: 4,
            tags: vec!["a".into(), "b".into()],
            click: None,
            group: None,
            sent_at: 1,
            received_at: 2,
        }
    }

    /// Answers each connection with the next status of `statuses` (the last
    /// one repeats) and counts the requests.
    async fn server(statuses: Vec<u16>) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let index = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let status = statuses[index.min(statuses.len() - 1)];
                let mut buffer = vec![0; 65_536];
                let _ = stream.read(&mut buffer).await;
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            }
        });
        (url, count)
    }

    fn webhook(url: &str) -> Action {
        Action::Webhook {
            url: url.into(),
            headers: vec![],
            timeout_secs: 2,
        }
    }

    #[tokio::test]
    async fn a_webhook_is_retried_after_a_server_error_and_not_after_a_refusal() {
        let (url, count) = server(vec![503, 200]).await;
        deliver(&webhook(&url), &payload("t", "b"))
            .await
            .expect("delivered on the second attempt");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);

        let (url, count) = server(vec![404]).await;
        let (attempts, error) = deliver(&webhook(&url), &payload("t", "b"))
            .await
            .expect_err("a 404 is final");
        assert_eq!(attempts, 1);
        assert!(error.contains("404"), "{error}");
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_command_that_hangs_is_stopped_and_a_failing_one_reports_its_stderr() {
        let sleeper = Action::Command {
            program: "sleep".into(),
            args: vec!["30".into()],
            timeout_secs: 1,
        };
        let started = std::time::Instant::now();
        let (_, error) = deliver(&sleeper, &payload("t", "b"))
            .await
            .expect_err("it times out");
        assert!(error.contains("did not finish within 1 s"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));

        let failing = Action::Command {
            program: "sh".into(),
            args: vec![
                "-c".into(),
                "echo \"no luck with $HERALD_TITLE\" >&2; exit 3".into(),
            ],
            timeout_secs: 5,
        };
        let (_, error) = deliver(&failing, &payload("the title", "b"))
            .await
            .expect_err("exit 3 is a failure");
        assert!(error.contains("no luck with the title"), "{error}");
        assert!(error.contains('3'), "{error}");

        let missing = Action::Command {
            program: "/nonexistent/program".into(),
            args: vec![],
            timeout_secs: 5,
        };
        let (_, error) = deliver(&missing, &payload("t", "b"))
            .await
            .expect_err("no program");
        assert!(error.contains("cannot start"), "{error}");
    }

    #[test]
    fn the_environment_holds_no_nul_and_is_bounded() {
        let huge = "x".repeat(200_000);
        let environment = payload("a\0b", &huge).environment();
        let get = |name: &str| {
            environment
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
                .expect("variable")
        };
        assert_eq!(get("HERALD_TITLE"), "a\u{FFFD}b");
        assert_eq!(get("HERALD_BODY").chars().count(), 32 * 1024);
        assert_eq!(get("HERALD_TAGS"), "a,b");
        assert_eq!(get("HERALD_ID"), "42");
        assert_eq!(get("HERALD_PRIORITY"), "4");
        assert_eq!(get("HERALD_URL"), "");
    }
}
