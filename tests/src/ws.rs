//! What the servers share: an append-only log of outgoing frames that every
//! connection reads from its own position, so a frame published while a
//! client is connecting is neither lost nor sent twice, and a slow client
//! never makes the server drop frames.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::WebSocketStream;

use crate::lock;

/// One frame in a server's log.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The message id, for `since=<id>`; `None` for raw frames.
    pub id: Option<String>,
    /// Unix seconds, for `since=<time>`.
    pub time: i64,
    /// The topic, for ntfy's topic filter; `None` goes to every client.
    pub topic: Option<String>,
    /// Raw frames (garbage, oversize) go to connected clients only, never
    /// into a replay.
    pub replayable: bool,
    pub frame: Frame,
}

pub(crate) struct Log {
    entries: Mutex<Vec<Entry>>,
    length: watch::Sender<usize>,
}

impl Log {
    pub fn new() -> Log {
        Log {
            entries: Mutex::new(Vec::new()),
            length: watch::Sender::new(0),
        }
    }

    pub fn push(&self, entry: Entry) {
        let mut entries = lock(&self.entries);
        entries.push(entry);
        self.length.send_replace(entries.len());
    }

    pub fn push_many(&self, new: impl IntoIterator<Item = Entry>) {
        let mut entries = lock(&self.entries);
        entries.extend(new);
        self.length.send_replace(entries.len());
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    /// Runs `f` over the entries while holding the lock.
    pub fn with<R>(&self, f: impl FnOnce(&[Entry]) -> R) -> R {
        f(&lock(&self.entries))
    }

    /// Up to `max` entries from `from` on, with their indexes.
    fn slice(&self, from: usize, max: usize) -> Vec<(usize, Entry)> {
        let entries = lock(&self.entries);
        entries
            .iter()
            .enumerate()
            .skip(from)
            .take(max)
            .map(|(index, entry)| (index, entry.clone()))
            .collect()
    }

    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.length.subscribe()
    }
}

/// How fast a connection sends a backlog: `frames` per round, then `pause`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub frames: usize,
    pub pause: std::time::Duration,
}

impl Default for Pace {
    /// As fast as the client reads, in rounds small enough to answer pings between.
    fn default() -> Self {
        Pace {
            frames: 512,
            pause: std::time::Duration::ZERO,
        }
    }
}

/// Sends the log from `position` on, then every entry appended later, for
/// as long as the client stays. `send(index, entry)` says whether a frame
/// goes to this client; `incoming` sees every data frame the client sends.
pub(crate) async fn pump(
    socket: &mut WebSocketStream<TcpStream>,
    log: &Log,
    mut position: usize,
    pace: Pace,
    send: impl Fn(usize, &Entry) -> bool,
    mut incoming: impl FnMut(&Frame),
) {
    let mut grown = log.subscribe();
    let round = pace.frames.max(1);
    loop {
        grown.borrow_and_update();
        let batch = log.slice(position, round);
        let full_round = batch.len() == round;
        for (index, entry) in batch {
            position = index + 1;
            if send(index, &entry) && socket.feed(entry.frame).await.is_err() {
                return;
            }
        }
        if socket.flush().await.is_err() {
            return;
        }
        if full_round {
            if !pace.pause.is_zero() {
                tokio::time::sleep(pace.pause).await;
            }
            // More to send; still answer the client between rounds.
            match futures_util::FutureExt::now_or_never(socket.next()) {
                None => continue,
                Some(Some(Ok(frame))) => {
                    if matches!(frame, Frame::Close(_)) {
                        return;
                    }
                    incoming(&frame);
                    continue;
                }
                Some(_) => return,
            }
        }
        tokio::select! {
            changed = grown.changed() => if changed.is_err() { return },
            frame = socket.next() => match frame {
                Some(Ok(Frame::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(frame)) => incoming(&frame),
            },
        }
    }
}

/// Query parameters of a request URI, decoded.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// An HTTP error answer for a refused WebSocket upgrade.
pub(crate) fn refuse(
    status: u16,
    reason: &str,
) -> tokio_tungstenite::tungstenite::handshake::server::ErrorResponse {
    let mut response = tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(Some(
        format!("{reason}\n"),
    ));
    *response.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::from_u16(status)
        .unwrap_or(tokio_tungstenite::tungstenite::http::StatusCode::BAD_REQUEST);
    response
}

/// Makes a socket reset (RST) on drop instead of closing politely, so a
/// killed server looks like a crashed one to its clients.
#[allow(deprecated)] // zero linger never blocks on drop, which is the concern
pub(crate) fn abrupt(stream: &TcpStream) {
    let _ = stream.set_linger(Some(std::time::Duration::ZERO));
}

/// Accepts connections and serves each with `serve` until the task running
/// this is aborted; dropping the set then aborts every connection too.
pub(crate) async fn accept_loop<S, F, Fut>(listener: TcpListener, shared: Arc<S>, serve: F)
where
    S: Send + Sync + 'static,
    F: Fn(TcpStream, Arc<S>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    connections.spawn(serve(stream, shared.clone()));
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
