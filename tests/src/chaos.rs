//! A TCP proxy on loopback that breaks connections on command, for any
//! protocol: Herald connects to the proxy, the proxy to the real server.
//!
//! - [`ChaosProxy::cut`] closes every open connection at once, as a server
//!   that vanishes does;
//! - [`ChaosProxy::cut_mid_frame`] lets each connection forward half of the
//!   next bytes the server sends and then closes it: a frame cut in two;
//! - [`ChaosProxy::stall`] keeps every open connection open but forwards
//!   nothing either way, as a suspended laptop or a dead NAT mapping does:
//!   only the client's read timeout can notice.
//!
//! Each action applies to the connections open when it is given; new ones
//! work normally.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{bind_loopback, lock};

#[derive(Debug, Clone, Copy)]
enum Action {
    Cut,
    CutMidFrame,
    Stall,
}

#[derive(Default)]
struct Shared {
    connections: Mutex<Vec<mpsc::UnboundedSender<Action>>>,
    accepted: AtomicU64,
}

pub struct ChaosProxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: JoinHandle<()>,
}

/// How long a mid-frame cut waits for bytes to cut before closing anyway.
const CUT_WAIT: Duration = Duration::from_secs(2);

impl ChaosProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ChaosProxy {
        let listener = bind_loopback(0).await;
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                accepting.accepted.fetch_add(1, Ordering::SeqCst);
                let (actions, inbox) = mpsc::unbounded_channel();
                {
                    let mut connections = lock(&accepting.connections);
                    connections.retain(|connection| !connection.is_closed());
                    connections.push(actions);
                }
                tokio::spawn(async move {
                    // A server that is down: the client sees its connection close.
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        pump(client, server, inbox).await;
                    }
                });
            }
        });
        ChaosProxy {
            port,
            shared,
            acceptor,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        lock(&self.shared.connections)
            .iter()
            .filter(|connection| !connection.is_closed())
            .count()
    }

    pub fn cut(&self) {
        self.send(Action::Cut);
    }

    pub fn cut_mid_frame(&self) {
        self.send(Action::CutMidFrame);
    }

    pub fn stall(&self) {
        self.send(Action::Stall);
    }

    fn send(&self, action: Action) {
        let mut connections = lock(&self.shared.connections);
        connections.retain(|connection| connection.send(action).is_ok());
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.send(Action::Cut);
    }
}

async fn pump(client: TcpStream, server: TcpStream, mut actions: mpsc::UnboundedReceiver<Action>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut up = vec![0u8; 16 << 10];
    let mut down = vec![0u8; 16 << 10];
    let mut cut_by: Option<tokio::time::Instant> = None;
    loop {
        let deadline = async {
            match cut_by {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            action = actions.recv() => match action {
                None | Some(Action::Cut) => return,
                Some(Action::CutMidFrame) => {
                    cut_by = Some(tokio::time::Instant::now() + CUT_WAIT);
                }
                Some(Action::Stall) => {
                    // Hold both sockets open, read nothing, until cut.
                    while let Some(action) = actions.recv().await {
                        if matches!(action, Action::Cut | Action::CutMidFrame) {
                            return;
                        }
                    }
                    return;
                }
            },
            () = deadline => return,
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if server_write.write_all(&up[..n]).await.is_err() {
                        return;
                    }
                }
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if cut_by.is_some() {
                        let _ = client_write.write_all(&down[..n / 2]).await;
                        return;
                    }
                    if client_write.write_all(&down[..n]).await.is_err() {
                        return;
                    }
                }
            },
        }
    }
}
