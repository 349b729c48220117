//! A plain WebSocket feed of JSON objects (or anything else pushed to it),
//! the kind order systems and IoT gateways expose. What is pushed goes to
//! the clients connected at the time; messages [`JsonFeed::publish`]ed
//! with an id are also replayed to a client that connects with
//! `?after=<id>` (the resume URL a source can be given). It records every
//! request (path, query, headers) and every text frame clients send, such
//! as a subscribe request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::ws::{pump, Entry, Log, Pace};
use crate::{bind_loopback, lock, now_secs};

/// One upgrade request.
#[derive(Debug, Clone)]
pub struct JsonRequest {
    pub path: String,
    pub query: Option<String>,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
}

impl JsonRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

struct Shared {
    log: Log,
    received: Mutex<Vec<String>>,
    requests: Mutex<Vec<JsonRequest>>,
    active: AtomicUsize,
    next_id: AtomicUsize,
}

pub struct JsonFeed {
    shared: Arc<Shared>,
    port: u16,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl JsonFeed {
    pub async fn start() -> JsonFeed {
        let listener = bind_loopback(0).await;
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = Arc::new(Shared {
            log: Log::new(),
            received: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            active: AtomicUsize::new(0),
            next_id: AtomicUsize::new(1),
        });
        let acceptor = tokio::spawn(crate::ws::accept_loop(listener, shared.clone(), serve));
        JsonFeed {
            shared,
            port,
            acceptor: Mutex::new(Some(acceptor)),
        }
    }

    /// `ws://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// Sends a JSON value as one text frame to every connected client.
    pub fn push_json(&self, value: &Value) {
        self.push_text(value.to_string());
    }

    /// Sends a text frame as is to every connected client.
    pub fn push_text(&self, text: impl Into<String>) {
        self.shared.log.push(Entry {
            id: None,
            time: now_secs(),
            topic: None,
            replayable: false,
            frame: Frame::text(text.into()),
        });
    }

    /// Sends `fields` with a new `"id"` (returned) to every connected client,
    /// and keeps it for clients that resume with `?after=<id>`.
    pub fn publish(&self, fields: Value) -> String {
        let id = format!("j{}", self.shared.next_id.fetch_add(1, Ordering::SeqCst));
        let mut message = fields;
        message["id"] = Value::String(id.clone());
        self.shared.log.push(Entry {
            id: Some(id.clone()),
            time: now_secs(),
            topic: None,
            replayable: true,
            frame: Frame::text(message.to_string()),
        });
        id
    }

    /// Text frames clients sent, in order.
    pub fn received(&self) -> Vec<String> {
        lock(&self.shared.received).clone()
    }

    pub fn requests(&self) -> Vec<JsonRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Connections open now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }
}

impl Drop for JsonFeed {
    fn drop(&mut self) {
        if let Some(acceptor) = lock(&self.acceptor).take() {
            acceptor.abort();
        }
    }
}

// The handshake callback's error type is tungstenite's, not ours.
#[allow(clippy::result_large_err)]
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut query = None;
    let callback = |request: &Request, response: Response| {
        query = request.uri().query().map(str::to_string);
        lock(&shared.requests).push(JsonRequest {
            path: request.uri().path().to_string(),
            query: request.uri().query().map(str::to_string),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        value.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect(),
        });
        Ok(response)
    };
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    // Live from here; with `?after=<id>`, published messages since that one first.
    let live = shared.log.len();
    let after = crate::ws::query_pairs(query.as_deref())
        .into_iter()
        .find(|(key, _)| key == "after")
        .map(|(_, id)| id);
    let start = match after {
        Some(id) => shared.log.with(|entries| {
            entries
                .iter()
                .position(|entry| entry.id.as_deref() == Some(id.as_str()))
                .map_or(0, |index| index + 1)
        }),
        None => live,
    };
    shared.active.fetch_add(1, Ordering::SeqCst);
    struct Guard<'a>(&'a AtomicUsize);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _guard = Guard(&shared.active);
    let received = &shared.received;
    pump(
        &mut socket,
        &shared.log,
        start,
        Pace::default(),
        |index, entry| index >= live || entry.replayable,
        |frame| {
            if let Frame::Text(text) = frame {
                lock(received).push(text.as_str().to_string());
            }
        },
    )
    .await;
}
