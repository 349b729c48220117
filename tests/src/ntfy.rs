//! An ntfy-compatible WebSocket server, following ntfy's subscribe API docs:
//!
//! - `GET /<topic>[,<topic>…]/ws` upgrades; anything else is 404;
//! - the first frame is an `open` event, then the cached messages the
//!   `since` parameter asks for, then live ones;
//! - `since=all` replays the whole cache, `since=<id>` what came after that
//!   message (an id the cache does not know replays everything, as ntfy
//!   does), `since=<unix seconds>` what was sent at or after that time, and
//!   no `since` nothing;
//! - optional access control: `Authorization: Basic …` or `Bearer …`, or
//!   `?auth=` holding the raw base64url (no padding) of that header value;
//!   anything else is answered with HTTP 401 on the upgrade.
//!
//! The cache outlives [`NtfyServer::kill`], like ntfy's message cache
//! outlives a restart, so a client that reconnects after
//! [`NtfyServer::restart`] resumes where it was.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use futures_util::SinkExt;
use rand::Rng;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as Frame;

pub use crate::ws::Pace;
use crate::ws::{abrupt, pump, query_pairs, refuse, Entry, Log};
use crate::{bind_loopback, lock, now_secs};

/// What the server demands before it upgrades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NtfyAuth {
    Open,
    Basic { username: String, password: String },
    Bearer(String),
}

impl NtfyAuth {
    /// The one `Authorization` value this server accepts.
    fn expected(&self) -> Option<String> {
        match self {
            NtfyAuth::Open => None,
            NtfyAuth::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            NtfyAuth::Bearer(token) => Some(format!("Bearer {token}")),
        }
    }
}

/// One upgrade request the server saw, accepted or not.
#[derive(Debug, Clone)]
pub struct NtfyRequest {
    pub path: String,
    pub topics: Vec<String>,
    /// The `since` parameter as sent.
    pub since: Option<String>,
    /// The `Authorization` header as sent.
    pub authorization: Option<String>,
    /// The `auth` query parameter as sent (still base64url).
    pub auth_query: Option<String>,
    /// 101 when upgraded, otherwise the refusal's status.
    pub status: u16,
}

/// A published message: its id, time (Unix seconds) and the whole event.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    pub time: i64,
    pub event: Value,
}

struct Shared {
    log: Log,
    auth: NtfyAuth,
    default_topic: String,
    attempts: AtomicUsize,
    accepted: AtomicUsize,
    active: AtomicUsize,
    requests: Mutex<Vec<NtfyRequest>>,
    ids: Mutex<HashSet<String>>,
    pace: Mutex<Pace>,
}

/// A running (or killed) ntfy server on 127.0.0.1.
pub struct NtfyServer {
    shared: Arc<Shared>,
    port: u16,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl NtfyServer {
    /// An open server; messages published without a topic go to `topic`.
    pub async fn start(topic: &str) -> NtfyServer {
        NtfyServer::start_with_auth(topic, NtfyAuth::Open).await
    }

    pub async fn start_with_auth(topic: &str, auth: NtfyAuth) -> NtfyServer {
        let listener = bind_loopback(0).await;
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = Arc::new(Shared {
            log: Log::new(),
            auth,
            default_topic: topic.to_string(),
            attempts: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
            active: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            ids: Mutex::new(HashSet::new()),
            pace: Mutex::new(Pace::default()),
        });
        let acceptor = tokio::spawn(crate::ws::accept_loop(listener, shared.clone(), serve));
        NtfyServer {
            shared,
            port,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The subscribe URL for `topics` (comma-separated), as a user would paste it.
    pub fn url(&self, topics: &str) -> String {
        format!("ws://127.0.0.1:{}/{topics}/ws", self.port)
    }

    /// The URL of the default topic.
    pub fn topic_url(&self) -> String {
        self.url(&self.shared.default_topic)
    }

    /// Sets how fast backlogs are sent to connections opened from now on.
    pub fn set_pace(&self, pace: Pace) {
        *lock(&self.shared.pace) = pace;
    }

    /// Publishes one message event. `fields` is merged into
    /// `{"id", "time", "event": "message", "topic"}`; give `id`, `time` or
    /// `topic` to override the generated ones.
    pub fn publish(&self, fields: Value) -> Published {
        let published = self.prepare(fields);
        self.shared.log.push(entry(&published));
        published
    }

    /// Publishes many at once (one lock, one wake-up for the connections).
    pub fn publish_many(&self, events: impl IntoIterator<Item = Value>) -> Vec<Published> {
        let published: Vec<Published> = events
            .into_iter()
            .map(|fields| self.prepare(fields))
            .collect();
        self.shared.log.push_many(published.iter().map(entry));
        published
    }

    fn prepare(&self, fields: Value) -> Published {
        let mut event = json!({});
        let id = fields
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| self.new_id());
        let time = fields
            .get("time")
            .and_then(Value::as_i64)
            .unwrap_or_else(now_secs);
        event["id"] = json!(id);
        event["time"] = json!(time);
        event["event"] = json!("message");
        event["topic"] = json!(self.shared.default_topic);
        if let (Some(target), Some(source)) = (event.as_object_mut(), fields.as_object()) {
            for (key, value) in source {
                target.insert(key.clone(), value.clone());
            }
        }
        Published { id, time, event }
    }

    /// A fresh ntfy-style id: 12 alphanumerics, never all digits (those
    /// would read as a Unix time in `since=`).
    fn new_id(&self) -> String {
        let mut ids = lock(&self.shared.ids);
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let id: String = (0..12)
                .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
                .collect();
            if !id.bytes().all(|byte| byte.is_ascii_digit()) && ids.insert(id.clone()) {
                return id;
            }
        }
        panic!("could not find a fresh message id in 1000 tries");
    }

    /// Sends a text frame as is to every connected client (not cached).
    pub fn send_raw_text(&self, text: impl Into<String>) {
        self.shared.log.push(raw(Frame::text(text.into())));
    }

    /// Sends a binary frame as is to every connected client (not cached).
    pub fn send_raw_binary(&self, bytes: Vec<u8>) {
        self.shared.log.push(raw(Frame::binary(bytes)));
    }

    /// Every message published so far, oldest first.
    pub fn published_ids(&self) -> Vec<String> {
        self.shared.log.with(|entries| {
            entries
                .iter()
                .filter(|entry| entry.replayable)
                .filter_map(|entry| entry.id.clone())
                .collect()
        })
    }

    /// Upgrade requests seen, refused ones included.
    pub fn connection_attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// Upgrades accepted.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<NtfyRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Stops listening and drops every connection with a TCP reset, like a
    /// crashed server. The cache stays for [`NtfyServer::restart`].
    pub async fn kill(&self) {
        let acceptor = lock(&self.acceptor).take();
        if let Some(acceptor) = acceptor {
            acceptor.abort();
            let _ = acceptor.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        let listener = bind_loopback(self.port).await;
        let acceptor = tokio::spawn(crate::ws::accept_loop(listener, self.shared.clone(), serve));
        let previous = lock(&self.acceptor).replace(acceptor);
        assert!(previous.is_none(), "restart() without kill() first");
    }
}

impl Drop for NtfyServer {
    fn drop(&mut self) {
        if let Some(acceptor) = lock(&self.acceptor).take() {
            acceptor.abort();
        }
    }
}

fn entry(published: &Published) -> Entry {
    Entry {
        id: Some(published.id.clone()),
        time: published.time,
        topic: published
            .event
            .get("topic")
            .and_then(Value::as_str)
            .map(str::to_string),
        replayable: true,
        frame: Frame::text(published.event.to_string()),
    }
}

fn raw(frame: Frame) -> Entry {
    Entry {
        id: None,
        time: now_secs(),
        topic: None,
        replayable: false,
        frame,
    }
}

/// Counts a connection as active for as long as it lives.
struct ActiveGuard<'a>(&'a AtomicUsize);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 64
        && topic
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut seen: Option<NtfyRequest> = None;
    let callback = |request: &Request, response: Response| {
        shared.attempts.fetch_add(1, Ordering::SeqCst);
        let path = request.uri().path().to_string();
        let query = query_pairs(request.uri().query());
        let param = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let auth_query = param("auth");
        let topics: Vec<String> = path
            .strip_prefix('/')
            .and_then(|rest| rest.strip_suffix("/ws"))
            .map(|list| list.split(',').map(str::to_string).collect())
            .unwrap_or_default();
        let mut info = NtfyRequest {
            path,
            topics: topics.clone(),
            since: param("since"),
            authorization: authorization.clone(),
            auth_query: auth_query.clone(),
            status: 101,
        };
        let outcome = if topics.is_empty() || !topics.iter().all(|topic| valid_topic(topic)) {
            Err(refuse(404, "page not found"))
        } else if !authorized(
            &shared.auth,
            authorization.as_deref(),
            auth_query.as_deref(),
        ) {
            Err(refuse(
                401,
                r#"{"code":40101,"http":401,"error":"unauthorized"}"#,
            ))
        } else {
            Ok(response)
        };
        if let Err(refusal) = &outcome {
            info.status = refusal.status().as_u16();
        }
        lock(&shared.requests).push(info.clone());
        seen = Some(info);
        outcome
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    let Some(request) = seen else { return };
    // Only now: a refusal above must reach the client before the close.
    abrupt(socket.get_ref());
    shared.accepted.fetch_add(1, Ordering::SeqCst);
    shared.active.fetch_add(1, Ordering::SeqCst);
    let _active = ActiveGuard(&shared.active);

    let open = json!({
        "id": random_id(),
        "time": now_secs(),
        "event": "open",
        "topic": request.topics.join(","),
    });
    if socket.send(Frame::text(open.to_string())).await.is_err() {
        return;
    }
    // What the cache replays: everything from a position, or what was sent
    // at or after a time. Entries appended after this point are live.
    let since_time = request
        .since
        .as_deref()
        .filter(|since| !since.is_empty() && since.bytes().all(|byte| byte.is_ascii_digit()))
        .map(|since| since.parse::<i64>().unwrap_or(i64::MAX));
    let (start, live_from) = shared.log.with(|entries| {
        let length = entries.len();
        let start = match request.since.as_deref() {
            None | Some("none") => length,
            Some(_) if since_time.is_some() => 0,
            Some("all") => 0,
            Some(id) => entries
                .iter()
                .position(|entry| entry.id.as_deref() == Some(id))
                .map_or(0, |position| position + 1),
        };
        (start, length)
    });
    let pace = *lock(&shared.pace);
    let topics = request.topics;
    pump(
        &mut socket,
        &shared.log,
        start,
        pace,
        |index, entry| {
            let wanted = index >= live_from
                || (entry.replayable && since_time.is_none_or(|time| entry.time >= time));
            wanted
                && entry
                    .topic
                    .as_ref()
                    .is_none_or(|topic| topics.contains(topic))
        },
        |_| {},
    )
    .await;
}

fn authorized(auth: &NtfyAuth, header: Option<&str>, query: Option<&str>) -> bool {
    let Some(expected) = auth.expected() else {
        return true;
    };
    if header == Some(expected.as_str()) {
        return true;
    }
    query
        .and_then(|query| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(query)
                .ok()
        })
        .is_some_and(|decoded| decoded == expected.as_bytes())
}

fn random_id() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
        .collect()
}
