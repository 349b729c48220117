//! Fixtures for Herald's end-to-end tests.
//!
//! The tests drive the *built* `herald` binary (see [`herald::Herald`])
//! against real WebSocket servers written here, all on 127.0.0.1 with
//! ports picked by the OS:
//!
//! - [`ntfy::NtfyServer`]: ntfy's WebSocket API (`/<topics>/ws`, `open`
//!   event, `since=`, Basic/Bearer/`?auth=` auth), with kill and restart on
//!   the same port and raw frames on demand;
//! - [`gotify::GotifyServer`]: Gotify's `/stream` socket and its paged REST
//!   `GET /message`, on one port;
//! - [`json_feed::JsonFeed`]: a plain feed of JSON objects that records what
//!   clients send it;
//! - [`broker::RabbitNode`]: a private RabbitMQ node (Web-STOMP, Web-MQTT),
//!   with publishers that speak its own STOMP and MQTT.
//!
//! The window tests drive Herald's real window: [`desktop::Desktop`] starts
//! a private Xvfb display, session bus and tauri-driver, and
//! [`webdriver::Session`] is a small WebDriver client to click and read it.
//!
//! Every wait in here is bounded by a deadline ([`wait_for`]) and every loop
//! by a count; nothing sleeps and hopes.

pub mod broker;
pub mod chaos;
pub mod desktop;
pub mod gotify;
pub mod herald;
pub mod http_sink;
pub mod json_feed;
pub mod ntfy;
pub mod procfs;
pub mod session_bus;
pub mod tls;
pub mod webdriver;
mod ws;

use std::future::Future;
use std::time::{Duration, Instant};

pub use herald::{CmdOutput, Herald, Running};

/// How long a test waits for something that should happen within a second
/// or two, with plenty of room for a loaded 2-core machine.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often [`wait_for`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Polls `probe` until it yields `Ok`, at most for `timeout`. `Err` carries
/// a description of what was seen last, for the panic message.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    match try_wait_for(timeout, probe).await {
        Ok(value) => value,
        Err(last) => panic!(
            "timed out after {:.1} s waiting for {what}; last seen: {last}",
            started.elapsed().as_secs_f64()
        ),
    }
}

/// [`wait_for`] that returns the last observation instead of failing.
pub async fn try_wait_for<T, F, Fut>(timeout: Duration, mut probe: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let last = match probe().await {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        if Instant::now() >= deadline {
            return Err(last);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Unix seconds now.
pub fn now_secs() -> i64 {
    now_ms() / 1000
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// Locks a std mutex, ignoring poisoning (a panicking test thread must not
/// hide the original failure behind a poison error).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A loopback port that was free a moment ago, for a server the test asks
/// Herald to start (the publish API). Another process could take it in
/// between; the test then fails on the bind, saying so.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

/// Binds a loopback listener with `SO_REUSEADDR`, on `port` (0: any free
/// port). Rebinding the port of a server that was just killed is retried
/// for a short, bounded while.
pub(crate) async fn bind_loopback(port: u16) -> tokio::net::TcpListener {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut last_error = None;
    for _ in 0..100 {
        let attempt = (|| {
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.set_reuseaddr(true)?;
            socket.bind(address)?;
            socket.listen(1024)
        })();
        match attempt {
            Ok(listener) => return listener,
            Err(error) => last_error = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind {address}: {last_error:?}");
}

/// Messages (as `messages list --json` prints them) keyed by `remote_id`;
/// fails on a remote id stored twice.
pub fn by_remote_id(
    messages: &[serde_json::Value],
) -> std::collections::HashMap<String, serde_json::Value> {
    let mut map = std::collections::HashMap::new();
    for message in messages {
        let remote_id = message["remote_id"]
            .as_str()
            .unwrap_or_else(|| panic!("message without a remote_id: {message}"))
            .to_string();
        if let Some(previous) = map.insert(remote_id.clone(), message.clone()) {
            panic!("remote id {remote_id} is stored twice:\n{previous}\n{message}");
        }
    }
    map
}
