//! The local publish API: an HTTP listener on a loopback address, so
//! scripts and local programs can put a message in the inbox:
//!
//! ```text
//! curl -H 'Authorization: Bearer TOKEN' -H 'Title: Backups' \
//!      -d 'Backup finished' http://127.0.0.1:8765/publish/backups
//! ```
//!
//! It is a source like the others (protocol `local`): its messages carry its
//! id, rules and notification settings apply to them, and its state shows
//! `connected` while it listens. A request is answered only after the
//! message is committed, so a 200 means the message is on disk.
//!
//! Fields come from ntfy-style headers (`Title`, `Priority`, `Tags`,
//! `Click`, `Markdown`, and `X-` forms of each) with a text body, or from a
//! JSON body (`Content-Type: application/json`) with the same names plus
//! `message`. `Message-Id` (or `id` in JSON) makes a retried request a
//! duplicate rather than a second message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::{SourceContext, SourceEvent, SourceSpec, SourceState};
use crate::i18n::text;
use crate::model::{now_ms, BodyFormat, Cursor, Envelope, NewMessage, Outcome, Priority};
use crate::store::FrameCounters;

/// The port the API listens on unless the user picks another.
pub const DEFAULT_PORT: u16 = 8765;
/// Most connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;
/// How long a request waits for its message to be committed.
const COMMIT_WAIT: Duration = Duration::from_secs(30);
/// Longest topic name, in characters.
const MAX_TOPIC: usize = 64;

/// What every request handler shares.
struct Api {
    spec: SourceSpec,
    port: u16,
    events: mpsc::Sender<SourceEvent>,
}

/// Listens until shutdown. A port that cannot be taken is retried with
/// backoff, and the reason is shown on the source.
pub async fn run(spec: SourceSpec, mut context: SourceContext) {
    let id = spec.id;
    let address = match listen_address(&spec) {
        Ok(address) => address,
        Err(error) => {
            super::report_error(&context, id, error).await;
            super::send_state(&context, id, SourceState::Stopped).await;
            return;
        }
    };
    let api = Arc::new(Api {
        port: address.port(),
        events: context.events.clone(),
        spec,
    });
    let mut backoff = Backoff::standard();
    loop {
        let attempt = backoff.failures() + 1;
        if !super::send_state(&context, id, SourceState::Connecting { attempt }).await {
            return;
        }
        match TcpListener::bind(address).await {
            Ok(listener) => {
                backoff.reset();
                if !super::send_state(&context, id, SourceState::Connected { since: now_ms() })
                    .await
                {
                    return;
                }
                tracing::info!(%address, "publish api listening");
                serve(listener, api.clone(), &mut context).await;
                super::send_state(&context, id, SourceState::Stopped).await;
                return;
            }
            Err(error) => {
                let error = text(
                    "publish.cannot_listen",
                    &[
                        ("address", &address.to_string()),
                        ("error", &error.to_string()),
                    ],
                );
                tracing::warn!(%error, "publish api");
                super::report_error(&context, id, error).await;
            }
        }
        let delay = backoff.next_delay(rand::random::<f64>());
        let at = now_ms() + delay.as_millis() as i64;
        let state = SourceState::Retrying {
            at,
            attempt: backoff.failures(),
        };
        super::send_state(&context, id, state).await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = super::stopped(&mut context.shutdown) => {
                super::send_state(&context, id, SourceState::Stopped).await;
                return;
            }
        }
    }
}

/// The loopback address in the source's URL; anything else is refused.
pub fn listen_address(spec: &SourceSpec) -> Result<SocketAddr, String> {
    let port = spec
        .url
        .port()
        .ok_or_else(|| text("publish.no_port", &[]))?;
    let address = match spec.url.host() {
        Some(url::Host::Ipv4(address)) if address.is_loopback() => {
            SocketAddr::from((address, port))
        }
        Some(url::Host::Ipv6(address)) if address.is_loopback() => {
            SocketAddr::from((address, port))
        }
        _ => return Err(text("publish.not_loopback", &[("url", spec.url.as_str())])),
    };
    Ok(address)
}

async fn serve(listener: TcpListener, api: Arc<Api>, context: &mut SourceContext) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut shutdown = context.shutdown.clone();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = super::stopped(&mut shutdown) => return,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "publish api: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = super::stopped(&mut shutdown) => return,
        };
        if !peer.ip().is_loopback() {
            // Bound to loopback, so this cannot happen; refuse it if it does.
            continue;
        }
        let api = api.clone();
        let mut stop = context.shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request| {
                let api = api.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&api, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .max_buf_size(64 * 1024)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = &mut connection => {}
                _ = super::stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
                }
            }
        });
    }
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: serde_json::Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string() + "\n")));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn refuse(status: StatusCode, error: impl Into<String>) -> Answer {
    let error = error.into();
    let mut response = answer(status, json!({ "error": error }));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert("WWW-Authenticate", HeaderValue::from_static("Bearer"));
    }
    response
}

async fn handle(api: &Api, request: Request<Incoming>) -> Answer {
    match accept(api, request).await {
        Ok(response) => response,
        Err((status, error)) => {
            if status != StatusCode::NOT_FOUND {
                let counters = FrameCounters {
                    frames_rejected: 1,
                    last_error: Some((text("publish.refused", &[("error", &error)]), now_ms())),
                    ..FrameCounters::default()
                };
                let _ = api
                    .events
                    .send(SourceEvent::Counters(api.spec.id, counters))
                    .await;
            }
            refuse(status, error)
        }
    }
}

type Refusal = (StatusCode, String);

async fn accept(api: &Api, request: Request<Incoming>) -> Result<Answer, Refusal> {
    check_host(request.headers(), api.port)?;
    let path = request.uri().path().to_string();
    let topic = path
        .strip_prefix("/publish/")
        .or_else(|| path.strip_prefix("/"))
        .filter(|_| path != "/")
        .ok_or_else(|| {
            (
                StatusCode::NOT_FOUND,
                "post messages to /publish/<topic>".to_string(),
            )
        })?
        .to_string();
    check_topic(&topic)?;
    if !matches!(*request.method(), Method::POST | Method::PUT) {
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{} is not allowed; use POST", request.method()),
        ));
    }
    check_token(request.headers(), &api.spec)?;
    let limit = api.spec.config.max_frame_bytes;
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                too_large(limit)
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    format!("reading the body failed: {error}"),
                )
            }
        })?
        .to_bytes();
    let message = message_from(&parts.headers, &body, &topic)?;
    let (to, mut committed) = mpsc::unbounded_channel();
    let cursor = Cursor {
        last_id: message.remote_id.clone(),
        last_time: message.sent_at,
    };
    let mut envelope = Envelope::new(api.spec.id, message, cursor);
    envelope.notice = Some(crate::model::CommitNotice { tag: 0, to });
    if api
        .events
        .send(SourceEvent::Message(envelope))
        .await
        .is_err()
    {
        return Err(shutting_down());
    }
    let outcome = tokio::time::timeout(COMMIT_WAIT, committed.recv())
        .await
        .map_err(|_| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the message was not stored in time; the database may be busy or full".to_string(),
            )
        })?
        .ok_or_else(shutting_down)?;
    Ok(match outcome.outcome {
        Outcome::Stored(id) => answer(StatusCode::OK, json!({ "id": id.0, "topic": topic })),
        Outcome::Duplicate => answer(StatusCode::OK, json!({ "duplicate": true, "topic": topic })),
        Outcome::Dropped => answer(StatusCode::OK, json!({ "dropped": true, "topic": topic })),
    })
}

fn shutting_down() -> Refusal {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "herald is shutting down; the message was not stored".into(),
    )
}

fn too_large(limit: usize) -> Refusal {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than {limit} bytes"),
    )
}

/// Only requests addressed to the loopback listener are served, so a web
/// page cannot reach the API through a name that resolves to 127.0.0.1
/// (DNS rebinding).
fn check_host(headers: &HeaderMap, port: u16) -> Result<(), Refusal> {
    let host = headers
        .get(hyper::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let allowed = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == *name || host == format!("{name}:{port}"));
    if allowed {
        Ok(())
    } else {
        Err((
            StatusCode::MISDIRECTED_REQUEST,
            format!("requests must be addressed to 127.0.0.1:{port}, not {host:?}"),
        ))
    }
}

fn check_topic(topic: &str) -> Result<(), Refusal> {
    let valid = !topic.is_empty()
        && topic.chars().count() <= MAX_TOPIC
        && topic
            .chars()
            .all(|character| character.is_alphanumeric() || "-_.".contains(character));
    if valid {
        Ok(())
    } else {
        Err((
            StatusCode::BAD_REQUEST,
            format!(
                "topic {:?} must be 1 to {MAX_TOPIC} letters, digits, '-', '_' or '.'",
                topic.chars().take(80).collect::<String>()
            ),
        ))
    }
}

fn check_token(headers: &HeaderMap, spec: &SourceSpec) -> Result<(), Refusal> {
    let Some(expected) = spec.credentials.token.as_ref() else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "the publish api has no token yet; make one in Herald's settings".into(),
        ));
    };
    let given = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            (
                StatusCode::UNAUTHORIZED,
                "send the token as 'Authorization: Bearer <token>'".to_string(),
            )
        })?;
    if constant_time_eq(given.as_bytes(), expected.expose().as_bytes()) {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, "the token is wrong".into()))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON body's fields (ntfy's publish-as-JSON names).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct JsonBody {
    topic: Option<String>,
    id: Option<String>,
    title: Option<String>,
    message: Option<String>,
    priority: Option<serde_json::Value>,
    tags: Option<Vec<String>>,
    click: Option<String>,
    markdown: Option<bool>,
}

/// The first of several header names that is present, as text.
fn header(headers: &HeaderMap, names: &[&str]) -> Result<Option<String>, Refusal> {
    for name in names {
        if let Some(value) = headers.get(*name) {
            let text = value.to_str().map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("header {name} is not plain text"),
                )
            })?;
            return Ok(Some(text.trim().to_string()));
        }
    }
    Ok(None)
}

fn message_from(headers: &HeaderMap, body: &[u8], topic: &str) -> Result<NewMessage, Refusal> {
    let bad = |error: String| (StatusCode::BAD_REQUEST, error);
    let text = std::str::from_utf8(body).map_err(|_| bad("the body is not utf-8 text".into()))?;
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    let mut fields = if is_json {
        let fields: JsonBody = serde_json::from_str(text)
            .map_err(|error| bad(format!("the json body does not fit: {error}")))?;
        if fields.topic.as_deref().is_some_and(|named| named != topic) {
            return Err(bad("the json body names another topic than the url".into()));
        }
        fields
    } else {
        JsonBody {
            message: Some(text.to_string()),
            ..JsonBody::default()
        }
    };
    let from_header = |names: &[&str]| header(headers, names);
    if let Some(title) = from_header(&["x-title", "title", "t"])? {
        fields.title = Some(title);
    }
    if let Some(priority) = from_header(&["x-priority", "priority", "prio", "p"])? {
        fields.priority = Some(serde_json::Value::String(priority));
    }
    if let Some(tags) = from_header(&["x-tags", "tags", "tag", "ta"])? {
        fields.tags = Some(
            tags.split(',')
                .map(str::trim)
                .filter(|tag| !tag.is_empty())
                .map(str::to_string)
                .collect(),
        );
    }
    if let Some(click) = from_header(&["x-click", "click"])? {
        fields.click = Some(click);
    }
    if let Some(markdown) = from_header(&["x-markdown", "markdown", "md"])? {
        fields.markdown = Some(matches!(
            markdown.to_ascii_lowercase().as_str(),
            "1" | "yes" | "true"
        ));
    }
    if let Some(id) = from_header(&["x-message-id", "message-id"])? {
        fields.id = Some(id);
    }
    let priority = match &fields.priority {
        None => Priority::default(),
        Some(serde_json::Value::Number(number)) => number
            .as_i64()
            .filter(|level| (1..=5).contains(level))
            .map(Priority::clamped)
            .ok_or_else(|| bad(format!("priority {number} is not 1 to 5")))?,
        Some(serde_json::Value::String(name)) => match name.parse::<i64>() {
            Ok(level) => Some(level)
                .filter(|level| (1..=5).contains(level))
                .map(Priority::clamped),
            Err(_) => Priority::from_name(name),
        }
        .ok_or_else(|| {
            bad(format!(
                "priority {name:?} is not 1 to 5 or min, low, default, high, urgent"
            ))
        })?,
        Some(other) => return Err(bad(format!("priority {other} is not 1 to 5"))),
    };
    if let Some(click) = &fields.click {
        let scheme_ok = url::Url::parse(click)
            .is_ok_and(|url| matches!(url.scheme(), "http" | "https" | "mailto"));
        if !scheme_ok {
            return Err(bad(format!(
                "click {click:?} must be an http, https or mailto link"
            )));
        }
    }
    let title = fields.title.unwrap_or_default();
    let body = fields.message.unwrap_or_default();
    if title.trim().is_empty() && body.trim().is_empty() {
        return Err(bad(
            "the message is empty; send text in the body or a title".into(),
        ));
    }
    let now = now_ms();
    let remote_id = match fields.id.filter(|id| !id.is_empty()) {
        Some(id) if id.chars().count() <= 200 => id,
        Some(_) => return Err(bad("the message id is longer than 200 characters".into())),
        None => format!("local:{now}:{:016x}", rand::random::<u64>()),
    };
    Ok(NewMessage {
        remote_id,
        sent_at: now,
        topic: Some(topic.to_string()),
        title,
        body,
        format: if fields.markdown == Some(true) {
            BodyFormat::Markdown
        } else {
            BodyFormat::Text
        },
        priority,
        raw_priority: None,
        tags: fields.tags.unwrap_or_default(),
        click: fields.click,
        ..NewMessage::default()
    })
}

/// Makes a new token: 32 random bytes, URL-safe base64.
pub fn new_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    format!(
        "hp_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    hyper::header::HeaderName::from_static(name),
                    HeaderValue::from_str(value).expect("valid value"),
                )
            })
            .collect()
    }

    #[test]
    fn text_with_ntfy_headers() {
        let message = message_from(
            &headers(&[
                ("title", "Backups"),
                ("priority", "high"),
                ("tags", "backup, ok"),
                ("markdown", "yes"),
                ("click", "https://example.com/run/7"),
            ]),
            b"Backup **finished**",
            "backups",
        )
        .expect("valid");
        assert_eq!(message.title, "Backups");
        assert_eq!(message.body, "Backup **finished**");
        assert_eq!(message.priority, Priority::clamped(4));
        assert_eq!(message.tags, ["backup", "ok"]);
        assert_eq!(message.format, BodyFormat::Markdown);
        assert_eq!(message.topic.as_deref(), Some("backups"));
        assert!(message.remote_id.starts_with("local:"));
    }

    #[test]
    fn a_json_body() {
        let message = message_from(
            &headers(&[("content-type", "application/json")]),
            br#"{"id":"job-7","title":"CI","message":"green","priority":2,"tags":["ci"]}"#,
            "ci",
        )
        .expect("valid");
        assert_eq!(message.remote_id, "job-7");
        assert_eq!(message.priority, Priority::clamped(2));
        assert_eq!(message.tags, ["ci"]);
    }

    #[test]
    fn bad_requests_are_refused_with_reasons() {
        let json = headers(&[("content-type", "application/json")]);
        let cases: [(&HeaderMap, &[u8], &str); 7] = [
            (&HeaderMap::new(), b"", "empty"),
            (&HeaderMap::new(), b"\xff\xfe", "not utf-8"),
            (&json, b"{\"colour\":1}", "does not fit"),
            (
                &json,
                b"{\"topic\":\"other\",\"message\":\"x\"}",
                "another topic",
            ),
            (&headers(&[("priority", "9")]), b"x", "not 1 to 5"),
            (
                &headers(&[("click", "javascript:alert(1)")]),
                b"x",
                "http, https or mailto",
            ),
            (
                &headers(&[("message-id", &"x".repeat(201))]),
                b"x",
                "longer than 200",
            ),
        ];
        for (headers, body, expected) in cases {
            let (status, error) = message_from(headers, body, "t").expect_err(expected);
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(error.contains(expected), "{error} should say {expected}");
        }
    }

    #[test]
    fn only_loopback_hosts_and_sane_topics() {
        for good in [
            "127.0.0.1:8765",
            "localhost:8765",
            "[::1]:8765",
            "127.0.0.1",
        ] {
            assert!(
                check_host(&headers(&[("host", good)]), 8765).is_ok(),
                "{good}"
            );
        }
        for bad in ["evil.example:8765", "127.0.0.1:9999", ""] {
            assert!(
                check_host(&headers(&[("host", bad)]), 8765).is_err(),
                "{bad}"
            );
        }
        assert!(check_topic("backups.nightly-1").is_ok());
        assert!(check_topic("告警").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(65)] {
            assert!(check_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.len() > 40);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
