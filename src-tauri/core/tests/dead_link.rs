//! A connection that goes silent without closing (a suspended laptop, a
//! dropped NAT mapping) is detected by the read timeout and replaced.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use herald_core::config::SourceConfig;
use herald_core::engine::{Engine, EngineEvent};
use herald_core::model::Protocol;
use herald_core::source::SourceState;
use herald_core::store::{self, BatchLimits, NewSource, Store};
use tokio::net::TcpListener;

/// Completes the WebSocket handshake, then neither reads nor writes:
/// pings go unanswered, exactly like a peer that vanished.
async fn stalling_server(connections: Arc<AtomicUsize>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..10 {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            connections.fetch_add(1, Ordering::SeqCst);
            if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                held.push(socket);
            }
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_replaced_after_the_read_timeout() {
    let connections = Arc::new(AtomicUsize::new(0));
    let port = stalling_server(connections.clone()).await;
    let directory = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&directory.path().join("herald.db"), BatchLimits::default())
        .expect("open store");
    let source = NewSource {
        name: "silent".into(),
        protocol: Protocol::Ntfy,
        url: format!("ws://127.0.0.1:{port}/quiet/ws"),
        enabled: true,
        config: SourceConfig {
            read_timeout_secs: 1,
            ..SourceConfig::default()
        },
    };
    store
        .write_async(move |transaction| store::insert_source(transaction, &source, 0))
        .await
        .expect("insert source");
    let engine = Engine::start(store.clone()).await.expect("start engine");
    let mut events = engine.subscribe();

    // Connected, then (after ~1 s of silence) retrying, then connected again.
    let mut connected = 0;
    let mut retried = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while connected < 2 {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the dead link must be noticed and replaced within 15 s")
            .expect("engine events");
        match event {
            EngineEvent::State(_, SourceState::Connected { .. }) => connected += 1,
            EngineEvent::State(_, SourceState::Retrying { .. }) => {
                retried = connected == 1 || retried
            }
            _ => {}
        }
    }
    assert!(
        retried,
        "the source must go through retrying between the two connections"
    );
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "the server saw the reconnect"
    );
    engine.shutdown().await;

    let stats = store.read(store::stats).expect("stats");
    let error = stats.sources[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("link looks dead"),
        "the reason is recorded for the admin: {error}"
    );
}
