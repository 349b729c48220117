//! A Gotify server: the `/stream` WebSocket (new messages only, never a
//! replay) and the REST `GET /message?limit=N&since=ID`, which pages
//! *backward* (newest first, ids below `since`), both on one TCP port. The
//! first request line is peeked to tell them apart: `/stream` goes to the
//! WebSocket handshake, the rest is answered as plain HTTP/1.1.
//!
//! Clients authenticate with a client token in `X-Gotify-Key` or `?token=`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::ws::{abrupt, pump, query_pairs, refuse, Entry, Log, Pace};
use crate::{bind_loopback, lock, now_ms};

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Stream,
    Rest,
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct GotifyRequest {
    pub endpoint: Endpoint,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The `X-Gotify-Key` header as sent.
    pub key_header: Option<String>,
    /// The `token` query parameter as sent.
    pub token_query: Option<String>,
    pub status: u16,
}

impl GotifyRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct Shared {
    token: String,
    /// Every message, oldest (lowest id) first.
    messages: Mutex<Vec<Value>>,
    /// Live frames for the stream.
    log: Log,
    next_id: AtomicU64,
    stream_active: AtomicUsize,
    requests: Mutex<Vec<GotifyRequest>>,
}

pub struct GotifyServer {
    shared: Arc<Shared>,
    port: u16,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl GotifyServer {
    /// A server that accepts the client token `token`.
    pub async fn start(token: &str) -> GotifyServer {
        let listener = bind_loopback(0).await;
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = Arc::new(Shared {
            token: token.to_string(),
            messages: Mutex::new(Vec::new()),
            log: Log::new(),
            next_id: AtomicU64::new(1),
            stream_active: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let acceptor = tokio::spawn(crate::ws::accept_loop(listener, shared.clone(), serve));
        GotifyServer {
            shared,
            port,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// The server URL, as a user would give it to Herald.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a message the way `POST /message` would: `fields` (title,
    /// message, priority, extras…) get an id, `appid` 1 and the date now
    /// (as Gotify writes it, RFC 3339 with the server's offset). Returns the id.
    pub fn publish(&self, fields: Value) -> u64 {
        self.publish_many([fields])[0]
    }

    pub fn publish_many(&self, many: impl IntoIterator<Item = Value>) -> Vec<u64> {
        let mut messages = lock(&self.shared.messages);
        let mut ids = Vec::new();
        let mut frames = Vec::new();
        for fields in many {
            let id = self.shared.next_id.fetch_add(1, Ordering::SeqCst);
            let mut message = json!({
                "id": id,
                "appid": 1,
                "message": "",
                "title": "",
                "priority": 5,
                "date": gotify_date(now_ms()),
            });
            if let (Some(target), Some(source)) = (message.as_object_mut(), fields.as_object()) {
                for (key, value) in source {
                    target.insert(key.clone(), value.clone());
                }
            }
            message["id"] = json!(id);
            frames.push(Entry {
                id: Some(id.to_string()),
                time: now_ms() / 1000,
                topic: None,
                replayable: true,
                frame: Frame::text(message.to_string()),
            });
            messages.push(message);
            ids.push(id);
        }
        // Under the messages lock, so a page and the stream agree on order.
        self.shared.log.push_many(frames);
        ids
    }

    /// Stream connections open now.
    pub fn stream_clients(&self) -> usize {
        self.shared.stream_active.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<GotifyRequest> {
        lock(&self.shared.requests).clone()
    }

    /// REST requests for `/message` seen so far.
    pub fn page_requests(&self) -> Vec<GotifyRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.endpoint == Endpoint::Rest && request.path == "/message")
            .collect()
    }
}

impl Drop for GotifyServer {
    fn drop(&mut self) {
        if let Some(acceptor) = lock(&self.acceptor).take() {
            acceptor.abort();
        }
    }
}

/// `2026-11-28T14:03:05.123+08:00`: Gotify answers in the server's local
/// offset; +08:00 makes sure clients really convert.
pub fn gotify_date(unix_ms: i64) -> String {
    let offset = time::UtcOffset::from_hms(8, 0, 0).expect("valid offset");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .expect("time in range")
        .to_offset(offset)
        .format(&time::format_description::well_known::Rfc3339)
        .expect("rfc 3339 formats every time")
}

/// The request target of the first line, peeked without consuming it.
async fn peek_target(stream: &TcpStream) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    for _ in 0..400 {
        let read = stream.peek(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        if let Some(end) = buffer[..read].windows(2).position(|pair| pair == b"\r\n") {
            let line = std::str::from_utf8(&buffer[..end]).ok()?;
            let mut parts = line.split(' ');
            let _method = parts.next()?;
            return parts.next().map(str::to_string);
        }
        if read == buffer.len() {
            return None;
        }
        // Only part of the line is here; peek returns at once, so wait a little.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let Some(target) = peek_target(&stream).await else {
        return;
    };
    let path = target.split('?').next().unwrap_or("").to_string();
    if path == "/stream" {
        serve_stream(stream, shared).await;
    } else {
        serve_rest(stream, shared).await;
    }
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn serve_stream(stream: TcpStream, shared: Arc<Shared>) {
    let mut accepted = false;
    let callback = |request: &Request, response: Response| {
        let query = query_pairs(request.uri().query());
        let token_query = query
            .iter()
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value.clone());
        let key_header = request
            .headers()
            .get("x-gotify-key")
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let ok = key_header.as_deref() == Some(shared.token.as_str())
            || token_query.as_deref() == Some(shared.token.as_str());
        lock(&shared.requests).push(GotifyRequest {
            endpoint: Endpoint::Stream,
            path: request.uri().path().to_string(),
            query,
            key_header,
            token_query,
            status: if ok { 101 } else { 401 },
        });
        if ok {
            accepted = true;
            Ok(response)
        } else {
            Err(refuse(
                401,
                r#"{"error":"Unauthorized","errorCode":401,"errorDescription":"you need to provide a valid access token or user credentials to access this api"}"#,
            ))
        }
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    if !accepted {
        return;
    }
    abrupt(socket.get_ref());
    // New messages only: start at the end of the log.
    let start = shared.log.len();
    shared.stream_active.fetch_add(1, Ordering::SeqCst);
    struct Guard<'a>(&'a AtomicUsize);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _guard = Guard(&shared.stream_active);
    pump(
        &mut socket,
        &shared.log,
        start,
        Pace::default(),
        |_, _| true,
        |_| {},
    )
    .await;
}

async fn serve_rest(mut stream: TcpStream, shared: Arc<Shared>) {
    // Read the request head (bounded) so the answer never races unread input.
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(read)) => head.extend_from_slice(&buffer[..read]),
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_string(), query_pairs(Some(query))),
        None => (target.clone(), Vec::new()),
    };
    let key_header = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("x-gotify-key"))
        .map(|(_, value)| value.trim().to_string());
    let token_query = query
        .iter()
        .find(|(key, _)| key == "token")
        .map(|(_, value)| value.clone());
    let authorized = key_header.as_deref() == Some(shared.token.as_str())
        || token_query.as_deref() == Some(shared.token.as_str());
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let (status, body) = if method != "GET" || path != "/message" {
        (404, json!({"error": "Not Found", "errorCode": 404}))
    } else if !authorized {
        (
            401,
            json!({"error": "Unauthorized", "errorCode": 401,
                   "errorDescription": "you need to provide a valid access token or user credentials to access this api"}),
        )
    } else {
        let limit = param("limit").map_or(Ok(100), |limit| limit.parse::<usize>());
        let since = param("since").map_or(Ok(0), |since| since.parse::<u64>());
        match (limit, since) {
            (Ok(limit), Ok(since)) if (1..=200).contains(&limit) => {
                (200, page(&shared, limit, since))
            }
            _ => (
                400,
                json!({"error": "Bad Request", "errorCode": 400, "errorDescription": "limit must be 1..200, since a positive id"}),
            ),
        }
    };
    lock(&shared.requests).push(GotifyRequest {
        endpoint: Endpoint::Rest,
        path,
        query: query.clone(),
        key_header,
        token_query,
        status,
    });
    let body = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    // Let the client read to the end and close first (bounded), so the
    // answer is never cut off by our close.
    for _ in 0..64 {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(_)) => {}
        }
    }
}

/// One page: newest first, ids below `since` (when not 0), at most `limit`.
fn page(shared: &Shared, limit: usize, since: u64) -> Value {
    let messages = lock(&shared.messages);
    let below: Vec<&Value> = messages
        .iter()
        .rev()
        .filter(|message| since == 0 || message["id"].as_u64().is_some_and(|id| id < since))
        .collect();
    let more = below.len() > limit;
    let page: Vec<Value> = below.into_iter().take(limit).cloned().collect();
    let lowest = page
        .last()
        .and_then(|message| message["id"].as_u64())
        .unwrap_or(0);
    let mut paging = json!({ "size": page.len(), "since": lowest, "limit": limit });
    if more {
        paging["next"] = json!(format!("/message?limit={limit}&since={lowest}"));
    }
    json!({ "messages": page, "paging": paging })
}
