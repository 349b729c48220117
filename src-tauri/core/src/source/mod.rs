//! Receiving: one supervised task per enabled source.
//!
//! A task connects, turns frames into [`Envelope`]s through its protocol's
//! adapter ([`ntfy`], [`gotify`], [`json`], or a broker session: [`stomp`],
//! [`mqtt`]) and hands them to the engine
//! over a bounded channel. When the connection ends for any reason it waits
//! a jittered, growing delay ([`backoff`]) and connects again, resuming from
//! the last message it saw. A refused login (HTTP 401/403) parks the source
//! in `auth_failed` instead of retrying, so a wrong password never becomes
//! a retry storm. A bad frame is counted and skipped; it never ends the task.

pub mod backoff;
pub mod broker;
pub mod gotify;
pub mod http;
pub mod json;
pub mod mqtt;
pub mod ntfy;
pub mod probe;
pub mod publish;
pub mod stomp;
pub mod tls;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use crate::config::{AuthPlacement, Credentials, SourceConfig};
use crate::i18n::text;
use crate::model::{now_ms, CommitNotice, Cursor, Envelope, NewMessage, Protocol, SourceId};
use crate::store::{FrameCounters, StateRecord, Store};
use backoff::Backoff;

/// Everything a source task needs to run, secrets included.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub id: SourceId,
    pub name: String,
    pub protocol: Protocol,
    pub url: Url,
    pub config: SourceConfig,
    pub credentials: Credentials,
}

/// What one frame turned out to be.
#[derive(Debug)]
pub enum Parsed {
    Messages(Vec<NewMessage>),
    /// Liveness only (ntfy `open`/`keepalive`, unknown events).
    Keepalive,
    /// ntfy: a message to fetch over HTTP.
    Poll {
        topic: String,
        poll_id: String,
    },
}

/// Why a frame could not be read. Counted against the source, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses one frame with the source's adapter.
pub fn parse_frame(
    protocol: Protocol,
    config: &SourceConfig,
    frame: &str,
    now: i64,
) -> Result<Parsed, ParseError> {
    match protocol {
        Protocol::Ntfy => ntfy::parse(frame),
        Protocol::Gotify => gotify::parse(frame),
        Protocol::Json => json::parse(frame, &config.map, config.text_frames, now),
        Protocol::Stomp | Protocol::Mqtt | Protocol::Local => Err(ParseError(text(
            "frame.not_single_text",
            &[("protocol", protocol.as_str())],
        ))),
    }
}

/// A source's connection state, as the admin UI and `source list` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SourceState {
    Idle,
    Connecting { attempt: u32 },
    Connected { since: i64 },
    Retrying { at: i64, attempt: u32 },
    AuthFailed { since: i64 },
    Disabled,
    Stopped,
}

impl SourceState {
    pub fn record(&self) -> StateRecord {
        let (state, since, retry_at, attempts) = match *self {
            SourceState::Idle => ("idle", None, None, 0),
            SourceState::Connecting { attempt } => ("connecting", None, None, attempt),
            SourceState::Connected { since } => ("connected", Some(since), None, 0),
            SourceState::Retrying { at, attempt } => ("retrying", None, Some(at), attempt),
            SourceState::AuthFailed { since } => ("auth_failed", Some(since), None, 0),
            SourceState::Disabled => ("disabled", None, None, 0),
            SourceState::Stopped => ("stopped", None, None, 0),
        };
        StateRecord {
            state,
            since,
            retry_at,
            attempts,
        }
    }
}

/// What a source task tells the engine.
// Almost every event is a Message, so boxing it would add an allocation per
// message on the hot path to shrink variants that are rarely sent.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum SourceEvent {
    Message(Envelope),
    Counters(SourceId, FrameCounters),
    State(SourceId, SourceState),
}

/// The channels a source task works with.
pub struct SourceContext {
    pub events: mpsc::Sender<SourceEvent>,
    /// Where cursors are read from; `None` for a connection test, which
    /// stores (and so acknowledges) nothing.
    pub store: Option<Store>,
    pub shutdown: watch::Receiver<bool>,
}

/// How a connection ended.
pub(crate) enum SessionEnd {
    Shutdown,
    AuthFailed(String),
    Failed {
        error: String,
        connected_for: Duration,
    },
}

/// How a session that got connected ends in failure: with the error and how
/// long it was up (a long one resets the backoff).
pub(crate) fn failure_since(connected_at: Instant) -> impl Fn(String) -> SessionEnd {
    move |error| SessionEnd::Failed {
        error,
        connected_for: connected_at.elapsed(),
    }
}

/// Who was at the other end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Server,
    Broker,
}

/// That `peer` closed the connection, with the code and reason it gave.
pub(crate) fn closed(peer: Peer, reason: &str) -> String {
    let reason = reason.trim_end();
    let key = match (peer, reason.is_empty()) {
        (Peer::Server, true) => "connection.server_closed",
        (Peer::Server, false) => "connection.server_closed_with",
        (Peer::Broker, true) => "connection.broker_closed",
        (Peer::Broker, false) => "connection.broker_closed_with",
    };
    text(key, &[("reason", reason)])
}

/// Nothing at all arrived within the read timeout.
pub(crate) fn link_dead(timeout: Duration) -> String {
    let secs = timeout.as_secs().to_string();
    text("connection.link_dead", &[("secs", &secs)])
}

/// The connection broke while reading.
pub(crate) fn connection_error(error: &dyn std::fmt::Display) -> String {
    text("connection.error", &[("error", &error.to_string())])
}

/// Sending a protocol frame or packet (`CONNECT`, `SUBSCRIBE`, …) failed.
pub(crate) fn send_failed(packet: &str, error: &dyn std::fmt::Display) -> String {
    text(
        "connection.send_failed",
        &[("packet", packet), ("error", &error.to_string())],
    )
}

/// A connection that stayed up this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(60);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs one source until shutdown (or until its credentials are refused).
pub async fn run(spec: SourceSpec, mut context: SourceContext) {
    if spec.protocol == Protocol::Local {
        return publish::run(spec, context).await;
    }
    let id = spec.id;
    let tls = match tls::client_config(spec.config.ca_file.as_deref()) {
        Ok(tls) => tls,
        Err(error) => {
            report_error(&context, id, error).await;
            let _ = context
                .events
                .send(SourceEvent::State(id, SourceState::Stopped))
                .await;
            return;
        }
    };
    let mut backoff = Backoff::standard();
    let mut last_seen: Option<Cursor> = None;
    loop {
        let attempt = backoff.failures() + 1;
        if !send_state(&context, id, SourceState::Connecting { attempt }).await {
            return;
        }
        let cursor = match (&last_seen, &context.store) {
            (Some(cursor), _) => Some(cursor.clone()),
            (None, Some(store)) => store
                .read_async(move |connection| crate::store::cursor(connection, id))
                .await
                .unwrap_or(None),
            (None, None) => None,
        };
        match session(&spec, &tls, cursor, &mut context, &mut last_seen).await {
            SessionEnd::Shutdown => {
                let _ = context
                    .events
                    .send(SourceEvent::State(id, SourceState::Stopped))
                    .await;
                return;
            }
            SessionEnd::AuthFailed(error) => {
                tracing::warn!(source = %spec.name, %error, "credentials refused; not retrying until the source is edited");
                report_error(&context, id, error).await;
                send_state(&context, id, SourceState::AuthFailed { since: now_ms() }).await;
                stopped(&mut context.shutdown).await;
                let _ = context
                    .events
                    .send(SourceEvent::State(id, SourceState::Stopped))
                    .await;
                return;
            }
            SessionEnd::Failed {
                error,
                connected_for,
            } => {
                tracing::info!(source = %spec.name, %error, "connection ended");
                if connected_for >= STABLE_AFTER {
                    backoff.reset();
                }
                report_error(&context, id, error).await;
            }
        }
        let delay = backoff.next_delay(rand::random::<f64>());
        let at = now_ms() + delay.as_millis() as i64;
        send_state(
            &context,
            id,
            SourceState::Retrying {
                at,
                attempt: backoff.failures(),
            },
        )
        .await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped(&mut context.shutdown) => {
                let _ = context.events.send(SourceEvent::State(id, SourceState::Stopped)).await;
                return;
            }
        }
    }
}

/// Resolves once shutdown is asked for (or the engine is gone).
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

pub(crate) async fn send_state(context: &SourceContext, id: SourceId, state: SourceState) -> bool {
    context
        .events
        .send(SourceEvent::State(id, state))
        .await
        .is_ok()
}

pub(crate) async fn report_error(context: &SourceContext, id: SourceId, error: String) {
    let counters = FrameCounters {
        last_error: Some((error, now_ms())),
        ..FrameCounters::default()
    };
    send_counters(context, id, counters).await;
}

/// Hands counters to the engine; false once the engine has gone.
pub(crate) async fn send_counters(
    context: &SourceContext,
    id: SourceId,
    counters: FrameCounters,
) -> bool {
    context
        .events
        .send(SourceEvent::Counters(id, counters))
        .await
        .is_ok()
}

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The URL and extra headers for one connection attempt.
pub(crate) fn connection_target(
    spec: &SourceSpec,
    cursor: Option<&Cursor>,
) -> Result<(Url, Vec<(String, String)>), String> {
    let placement = spec.config.auth;
    let mut headers = spec.config.headers.clone();
    let url = match spec.protocol {
        Protocol::Ntfy => {
            if placement == AuthPlacement::Header {
                headers.extend(
                    ntfy::authorization(&spec.credentials)
                        .map(|value| ("Authorization".to_string(), value)),
                );
            }
            ntfy::connect_url(&spec.url, cursor, &spec.credentials, placement)
        }
        Protocol::Gotify => {
            headers.extend(gotify::auth_headers(&spec.credentials, placement));
            gotify::connect_url(&spec.url, &spec.credentials, placement)
        }
        Protocol::Json => {
            headers.extend(
                ntfy::authorization(&spec.credentials)
                    .map(|value| ("Authorization".to_string(), value)),
            );
            json::connect_url(&spec.url, spec.config.resume_url.as_deref(), cursor)
                .map_err(|error| error.0)?
        }
        // Brokers log in inside the protocol, not on the handshake.
        Protocol::Stomp => {
            headers.push(("Sec-WebSocket-Protocol".into(), stomp::SUBPROTOCOL.into()));
            spec.url.clone()
        }
        Protocol::Mqtt => {
            headers.push(("Sec-WebSocket-Protocol".into(), mqtt::SUBPROTOCOL.into()));
            spec.url.clone()
        }
        Protocol::Local => return Err(text("connection.publish_not_websocket", &[])),
    };
    Ok((url, headers))
}

/// Why a source's credentials must not be sent to `url`, if so: over plain
/// ws:// or http:// anyone on the path can read them, so that takes the
/// user's confirmation for the source (`allow_plain_credentials`). This
/// machine itself (127.0.0.0/8, ::1, localhost) is not a network path.
pub fn plain_credentials_refusal(
    url: &Url,
    config: &SourceConfig,
    has_credentials: bool,
) -> Option<String> {
    let secret_header = config.headers.iter().any(|(name, _)| {
        name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
    });
    let plain = matches!(url.scheme(), "ws" | "http");
    let local = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    };
    if !(has_credentials || secret_header) || !plain || local || config.allow_plain_credentials {
        return None;
    }
    Some(text(
        "connection.plain_credentials",
        &[
            ("host", url.host_str().unwrap_or_default()),
            ("scheme", url.scheme()),
            ("secure", if url.scheme() == "ws" { "wss" } else { "https" }),
        ],
    ))
}

/// The WebSocket settings of every source's connection (and of the Autobahn
/// conformance client in the tests). Tungstenite's own ceiling only guards
/// memory; frames between the source's limit and this are rejected and
/// counted without a reconnect.
pub fn websocket_config(max_frame_bytes: usize) -> WebSocketConfig {
    let ceiling = (max_frame_bytes.saturating_mul(2)).max(64 << 20);
    WebSocketConfig::default()
        .max_message_size(Some(ceiling))
        .max_frame_size(Some(ceiling))
}

/// Opens the WebSocket. Errors are sorted into "credentials refused" and the rest.
pub(crate) async fn connect(
    spec: &SourceSpec,
    tls: &Arc<rustls::ClientConfig>,
    url: &Url,
    headers: &[(String, String)],
) -> Result<Socket, SessionEnd> {
    let failed = |error: String| SessionEnd::Failed {
        error,
        connected_for: Duration::ZERO,
    };
    // Checked at every connection, not only when saving: a source saved by
    // an older Herald, or edited in the database, is held to it too.
    if let Some(refusal) =
        plain_credentials_refusal(url, &spec.config, !spec.credentials.is_empty())
    {
        return Err(SessionEnd::AuthFailed(text(
            "connection.plain_credentials_edit",
            &[("refusal", &refusal)],
        )));
    }
    let mut request = url.as_str().into_client_request().map_err(|error| {
        failed(text(
            "connection.bad_request",
            &[("error", &error.to_string())],
        ))
    })?;
    for (name, value) in headers {
        let problem = |key: &str, name: &str, error: &dyn std::fmt::Display| {
            failed(text(key, &[("name", name), ("error", &error.to_string())]))
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|error| problem("connection.bad_header", name, &error))?;
        let value = HeaderValue::from_str(value)
            .map_err(|error| problem("connection.bad_header_value", name.as_str(), &error))?;
        request.headers_mut().insert(name, value);
    }
    request.headers_mut().insert(
        tungstenite::http::header::USER_AGENT,
        HeaderValue::from_static(concat!("herald/", env!("CARGO_PKG_VERSION"))),
    );
    let config = websocket_config(spec.config.max_frame_bytes);
    let connector = tokio_tungstenite::Connector::Rustls(tls.clone());
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Err(_) => Err(failed(text(
            "connection.no_answer",
            &[
                ("url", &http::redacted(url)),
                ("secs", &CONNECT_TIMEOUT.as_secs().to_string()),
            ],
        ))),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let code = status.to_string();
            if status == 401 || status == 403 {
                Err(SessionEnd::AuthFailed(text(
                    "connection.credentials_refused",
                    &[("status", &code)],
                )))
            } else {
                Err(failed(text(
                    "connection.not_websocket",
                    &[("status", &code)],
                )))
            }
        }
        Ok(Err(error)) => {
            let described = error.to_string();
            // rustls names the problem; say what the user can do about it.
            let hint = if described.contains("UnknownIssuer") {
                text("connection.hint_unknown_issuer", &[])
            } else if described.contains("not valid for name") {
                text("connection.hint_wrong_name", &[])
            } else if described.contains("Expired") || described.contains("NotValidYet") {
                text("connection.hint_expired", &[])
            } else {
                String::new()
            };
            Err(failed(text(
                "connection.cannot_connect",
                &[
                    ("url", &http::redacted(url)),
                    ("error", &described),
                    ("hint", &hint),
                ],
            )))
        }
    }
}

pub(crate) async fn session(
    spec: &SourceSpec,
    tls: &Arc<rustls::ClientConfig>,
    cursor: Option<Cursor>,
    context: &mut SourceContext,
    last_seen: &mut Option<Cursor>,
) -> SessionEnd {
    let (url, headers) = match connection_target(spec, cursor.as_ref()) {
        Ok(target) => target,
        Err(error) => {
            return SessionEnd::Failed {
                error,
                connected_for: Duration::ZERO,
            }
        }
    };
    let mut socket = tokio::select! {
        connected = connect(spec, tls, &url, &headers) => match connected {
            Ok(socket) => socket,
            Err(end) => return end,
        },
        _ = stopped(&mut context.shutdown) => return SessionEnd::Shutdown,
    };
    match spec.protocol {
        Protocol::Stomp => return stomp::session(spec, socket, context, last_seen).await,
        Protocol::Mqtt => return mqtt::session(spec, socket, context, last_seen).await,
        _ => {}
    }
    let connected_at = Instant::now();
    let failed = failure_since(connected_at);
    if !send_state(context, spec.id, SourceState::Connected { since: now_ms() }).await {
        return SessionEnd::Shutdown;
    }
    if let Some(frame) = &spec.config.subscribe_frame {
        if let Err(error) = socket.send(Frame::text(frame.clone())).await {
            return failed(text(
                "connection.subscribe_frame_failed",
                &[("error", &error.to_string())],
            ));
        }
    }
    if spec.protocol == Protocol::Gotify {
        match gotify_catch_up(spec, tls, &headers, cursor.as_ref(), context).await {
            Ok(messages) => {
                for message in messages {
                    if !forward(context, spec, message, None, last_seen).await {
                        return SessionEnd::Shutdown;
                    }
                }
            }
            Err(end) => return end,
        }
    }
    let read_timeout = Duration::from_secs(spec.config.read_timeout_secs.max(1));
    let mut shutdown = context.shutdown.clone();
    let mut ping = tokio::time::interval_at(
        tokio::time::Instant::now() + read_timeout / 3,
        read_timeout / 3,
    );
    let mut deadline = tokio::time::Instant::now() + read_timeout;
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut shutdown) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
                return SessionEnd::Shutdown;
            }
            next = tokio::time::timeout_at(deadline, socket.next()) => {
                let frame = match next {
                    Err(_) => return failed(link_dead(read_timeout)),
                    Ok(None) => return failed(closed(Peer::Server, "")),
                    Ok(Some(Err(error))) => return failed(connection_error(&error)),
                    Ok(Some(Ok(frame))) => frame,
                };
                deadline = tokio::time::Instant::now() + read_timeout;
                let keep_going = match frame {
                    Frame::Text(frame) => handle_text(spec, tls, &headers, frame.as_str(), context, last_seen).await,
                    Frame::Binary(bytes) => match std::str::from_utf8(&bytes) {
                        Ok(frame) => handle_text(spec, tls, &headers, frame, context, last_seen).await,
                        Err(_) => count_malformed(context, spec.id, text("frame.binary_not_utf8", &[])).await,
                    },
                    // Tungstenite queues the pong; flushing sends it now.
                    Frame::Ping(_) => {
                        let _ = socket.flush().await;
                        true
                    }
                    Frame::Pong(_) | Frame::Frame(_) => true,
                    Frame::Close(close) => {
                        let reason = close.map(|close| format!("{} {}", u16::from(close.code), close.reason)).unwrap_or_default();
                        return failed(closed(Peer::Server, &reason));
                    }
                };
                if !keep_going {
                    return SessionEnd::Shutdown;
                }
            }
            _ = ping.tick() => {
                if let Err(error) = socket.send(Frame::Ping(Vec::new().into())).await {
                    return failed(text("connection.ping_failed", &[("error", &error.to_string())]));
                }
            }
        }
    }
}

/// Handles one text frame. Returns false when the engine has gone away.
async fn handle_text(
    spec: &SourceSpec,
    tls: &Arc<rustls::ClientConfig>,
    headers: &[(String, String)],
    frame: &str,
    context: &SourceContext,
    last_seen: &mut Option<Cursor>,
) -> bool {
    let limit = spec.config.max_frame_bytes;
    if frame.len() > limit {
        let error = text(
            "frame.too_large",
            &[
                ("size", &frame.len().to_string()),
                ("limit", &limit.to_string()),
            ],
        );
        return count_rejected(context, spec.id, error).await;
    }
    match parse_frame(spec.protocol, &spec.config, frame, now_ms()) {
        Ok(Parsed::Messages(messages)) => {
            for message in messages {
                if !forward(context, spec, message, None, last_seen).await {
                    return false;
                }
            }
            true
        }
        Ok(Parsed::Keepalive) => {
            let counters = FrameCounters {
                frames_received: 1,
                ..FrameCounters::default()
            };
            send_counters(context, spec.id, counters).await
        }
        Ok(Parsed::Poll { topic, poll_id }) => {
            let url = ntfy::poll_url(&spec.url, &topic, &poll_id);
            match http::get(&url, headers, tls, Duration::from_secs(30), limit).await {
                Ok(response) if response.status == 200 => {
                    let body = String::from_utf8_lossy(&response.body);
                    for line in body.lines().filter(|line| !line.trim().is_empty()) {
                        let keep_going = match ntfy::parse(line) {
                            Ok(Parsed::Messages(messages)) => {
                                let mut ok = true;
                                for message in messages {
                                    ok = ok
                                        && forward(context, spec, message, None, last_seen).await;
                                }
                                ok
                            }
                            Ok(_) => true,
                            Err(error) => {
                                let error = text("frame.poll_answer", &[("error", &error.0)]);
                                count_malformed(context, spec.id, error).await
                            }
                        };
                        if !keep_going {
                            return false;
                        }
                    }
                    true
                }
                Ok(response) => {
                    let status = response.status.to_string();
                    let error = text("frame.poll_status", &[("status", &status)]);
                    count_malformed(context, spec.id, error).await
                }
                Err(error) => {
                    let error = text("frame.poll_failed", &[("error", &error)]);
                    count_malformed(context, spec.id, error).await
                }
            }
        }
        Err(error) => count_malformed(context, spec.id, error.0).await,
    }
}

pub(crate) async fn count_malformed(context: &SourceContext, id: SourceId, error: String) -> bool {
    let counters = FrameCounters {
        frames_received: 1,
        frames_malformed: 1,
        last_error: Some((error, now_ms())),
        ..FrameCounters::default()
    };
    send_counters(context, id, counters).await
}

/// Counts a frame refused for its size, with the reason. Never fatal.
pub(crate) async fn count_rejected(context: &SourceContext, id: SourceId, error: String) -> bool {
    let counters = FrameCounters {
        frames_received: 1,
        frames_rejected: 1,
        last_error: Some((error, now_ms())),
        ..FrameCounters::default()
    };
    send_counters(context, id, counters).await
}

/// Sends one message on to the engine and remembers it as the resume point.
/// `notice` asks the writer to report the commit (brokers ack only then).
pub(crate) async fn forward(
    context: &SourceContext,
    spec: &SourceSpec,
    message: NewMessage,
    notice: Option<CommitNotice>,
    last_seen: &mut Option<Cursor>,
) -> bool {
    let cursor = Cursor {
        last_id: message.remote_id.clone(),
        last_time: message.sent_at,
    };
    let mut envelope = Envelope::new(spec.id, message, cursor.clone());
    envelope.notice = notice;
    if context
        .events
        .send(SourceEvent::Message(envelope))
        .await
        .is_err()
    {
        return false;
    }
    *last_seen = Some(cursor);
    true
}

/// Most pages fetched in one catch-up (200 messages each).
const MAX_CATCH_UP_PAGES: usize = 50;

/// Gotify: fetches what was sent since the cursor, oldest first. On a first
/// connect (no cursor) only the newest page is fetched.
async fn gotify_catch_up(
    spec: &SourceSpec,
    tls: &Arc<rustls::ClientConfig>,
    headers: &[(String, String)],
    cursor: Option<&Cursor>,
    context: &SourceContext,
) -> Result<Vec<NewMessage>, SessionEnd> {
    let failed = |error: String| SessionEnd::Failed {
        error,
        connected_for: Duration::ZERO,
    };
    let stop_at: Option<u64> = cursor.and_then(|cursor| cursor.last_id.parse().ok());
    let mut since: Option<u64> = None;
    let mut collected = Vec::new();
    for _ in 0..MAX_CATCH_UP_PAGES {
        let url = gotify::page_url(&spec.url, since, &spec.credentials, spec.config.auth);
        let response = http::get(&url, headers, tls, Duration::from_secs(30), 64 << 20)
            .await
            .map_err(|error| failed(text("connection.catch_up_failed", &[("error", &error)])))?;
        let status = response.status.to_string();
        match response.status {
            200 => {}
            401 | 403 => {
                return Err(SessionEnd::AuthFailed(text(
                    "connection.client_token_refused",
                    &[("status", &status)],
                )))
            }
            _ => {
                return Err(failed(text(
                    "connection.catch_up_status",
                    &[("status", &status)],
                )))
            }
        }
        let page: gotify::Page = serde_json::from_slice(&response.body).map_err(|error| {
            failed(text(
                "connection.catch_up_not_page",
                &[("error", &error.to_string())],
            ))
        })?;
        let fetched = page.messages.len();
        let lowest = page.messages.iter().map(gotify::Message::id).min();
        let mut reached_cursor = false;
        for message in page.messages {
            if stop_at.is_some_and(|stop| message.id() <= stop) {
                reached_cursor = true;
            } else {
                collected.push(message);
            }
        }
        let next = page
            .paging
            .and_then(|paging| paging.since)
            .filter(|since| *since > 0)
            .or(lowest);
        if stop_at.is_none() || reached_cursor || fetched < 200 || next.is_none() || next == since {
            break;
        }
        since = next;
    }
    collected.sort_by_key(gotify::Message::id);
    collected.dedup_by_key(|message| message.id());
    let mut messages = Vec::with_capacity(collected.len());
    for message in collected {
        match gotify::convert(message) {
            Ok(message) => messages.push(message),
            Err(error) => {
                let error = text("frame.catch_up", &[("error", &error.0)]);
                count_malformed(context, spec.id, error).await;
            }
        }
    }
    Ok(messages)
}
