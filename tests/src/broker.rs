//! A private RabbitMQ node for the broker tests, and publishers that speak
//! the broker's own protocols (STOMP and MQTT over plain TCP), so what
//! Herald receives went through RabbitMQ and not through Herald.
//!
//! The node is started and stopped by `tests/scripts/rabbitmq-node` (see
//! its header): private directories, loopback listeners, its own epmd.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{Connect, Login, Packet, Publish};
use rumqttc::mqttbytes::QoS;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

/// The user the script creates, with all permissions on `/`.
pub const USER: &str = "herald";
pub const PASSWORD: &str = "herald-secret";

/// A running RabbitMQ node; stopped when dropped.
pub struct RabbitNode {
    dir: tempfile::TempDir,
    pub base: u16,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/rabbitmq-node")
}

/// A base port with the node's eight ports free.
fn free_base() -> u16 {
    for _ in 0..200 {
        let base = 20_000 + (rand::random::<u16>() % 4000) * 10;
        let free =
            (0..8).all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok());
        if free {
            return base;
        }
    }
    panic!("no free block of 8 loopback ports for RabbitMQ");
}

async fn run_script(command: &str, dir: &Path, base: u16) {
    let output = Command::new(script())
        .arg(command)
        .arg(dir)
        .env("RABBIT_PORT_BASE", base.to_string())
        // The tests publish over STOMP and MQTT; the management plugin
        // only makes every stop about 5 s slower.
        .env("RABBIT_MANAGEMENT", "0")
        .output()
        .await
        .expect("tests/scripts/rabbitmq-node runs");
    if !output.status.success() && command == "start" {
        // Leave no node behind when a start fails half way.
        let _ = Command::new(script()).arg("kill").arg(dir).output().await;
    }
    assert!(
        output.status.success(),
        "rabbitmq-node {command} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl RabbitNode {
    /// Starts a node and returns once every listener accepts connections.
    /// Needs Debian's `rabbitmq-server` (`.ci/install` installs it).
    pub async fn start() -> RabbitNode {
        let dir = tempfile::Builder::new()
            .prefix("herald-rabbit-")
            .tempdir()
            .expect("a temporary directory");
        let base = free_base();
        run_script("start", dir.path(), base).await;
        RabbitNode { dir, base }
    }

    pub fn web_stomp_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.base + 3)
    }

    pub fn web_mqtt_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.base + 4)
    }

    pub fn stomp_port(&self) -> u16 {
        self.base + 1
    }

    pub fn mqtt_port(&self) -> u16 {
        self.base + 2
    }

    /// Stops the node cleanly; its durable queues stay for [`RabbitNode::restart`].
    pub async fn stop(&self) {
        run_script("stop", self.dir.path(), self.base).await;
    }

    /// Starts it again on the same ports and data.
    pub async fn restart(&self) {
        run_script("start", self.dir.path(), self.base).await;
    }
}

impl Drop for RabbitNode {
    fn drop(&mut self) {
        let _ = std::process::Command::new(script())
            .arg("stop")
            .arg(self.dir.path())
            .env("RABBIT_MANAGEMENT", "0")
            .output();
    }
}

/// A STOMP 1.2 client over plain TCP that sends messages with a receipt at
/// the end, so a batch is known to be in the broker.
pub struct StompPublisher {
    stream: TcpStream,
    receipts: u64,
}

fn stomp_frame(command: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut frame = format!("{command}\n");
    for (name, value) in headers {
        frame.push_str(&format!("{name}:{value}\n"));
    }
    frame.push_str(&format!("content-length:{}\n\n", body.len()));
    let mut bytes = frame.into_bytes();
    bytes.extend_from_slice(body);
    bytes.push(0);
    bytes
}

impl StompPublisher {
    pub async fn connect(port: u16) -> StompPublisher {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("stomp port accepts");
        stream
            .write_all(&stomp_frame(
                "CONNECT",
                &[
                    ("accept-version", "1.2"),
                    ("host", "/"),
                    ("login", USER),
                    ("passcode", PASSWORD),
                ],
                b"",
            ))
            .await
            .expect("send CONNECT");
        let mut publisher = StompPublisher {
            stream,
            receipts: 0,
        };
        let answer = publisher.read_frame().await;
        assert!(answer.starts_with("CONNECTED"), "stomp login: {answer}");
        publisher
    }

    async fn read_frame(&mut self) -> String {
        let mut frame = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            tokio::time::timeout(Duration::from_secs(30), self.stream.read_exact(&mut byte))
                .await
                .expect("the broker answers within 30 s")
                .expect("read a frame");
            if byte[0] == 0 {
                break;
            }
            if frame.is_empty() && byte[0] == b'\n' {
                continue;
            }
            frame.push(byte[0]);
        }
        String::from_utf8_lossy(&frame).into_owned()
    }

    /// Sends one message (not waiting for the broker).
    pub async fn send(&mut self, destination: &str, headers: &[(&str, &str)], body: &str) {
        let mut all = vec![("destination", destination), ("persistent", "true")];
        all.extend_from_slice(headers);
        self.stream
            .write_all(&stomp_frame("SEND", &all, body.as_bytes()))
            .await
            .expect("send SEND");
    }

    /// Returns once the broker has every message sent so far.
    pub async fn flush(&mut self) {
        self.receipts += 1;
        let receipt = format!("r-{}", self.receipts);
        self.stream
            .write_all(&stomp_frame(
                "SEND",
                &[
                    ("destination", "/queue/herald-test-receipts"),
                    ("receipt", &receipt),
                ],
                b"",
            ))
            .await
            .expect("send receipt request");
        loop {
            let frame = self.read_frame().await;
            assert!(!frame.starts_with("ERROR"), "broker error: {frame}");
            if frame.starts_with("RECEIPT") && frame.contains(&receipt) {
                return;
            }
        }
    }
}

/// An MQTT 3.1.1 publisher over plain TCP, QoS 1, waiting for each PUBACK.
pub struct MqttPublisher {
    stream: TcpStream,
    buffer: BytesMut,
    next_id: u16,
}

impl MqttPublisher {
    pub async fn connect(port: u16, client_id: &str) -> MqttPublisher {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("mqtt port accepts");
        let mut publisher = MqttPublisher {
            stream,
            buffer: BytesMut::new(),
            next_id: 0,
        };
        let mut connect = Connect::new(client_id);
        connect.login = Some(Login::new(USER, PASSWORD));
        publisher.write(Packet::Connect(connect)).await;
        match publisher.read().await {
            Packet::ConnAck(ack) => assert_eq!(
                ack.code,
                rumqttc::mqttbytes::v4::ConnectReturnCode::Success,
                "mqtt login"
            ),
            other => panic!("expected CONNACK, got {other:?}"),
        }
        publisher
    }

    async fn write(&mut self, packet: Packet) {
        let mut bytes = BytesMut::new();
        packet.write(&mut bytes, 1 << 24).expect("encode");
        self.stream.write_all(&bytes).await.expect("write packet");
    }

    async fn read(&mut self) -> Packet {
        loop {
            match Packet::read(&mut self.buffer, 1 << 24) {
                Ok(packet) => return packet,
                Err(rumqttc::mqttbytes::Error::InsufficientBytes(_)) => {}
                Err(error) => panic!("bad packet from the broker: {error}"),
            }
            let mut chunk = [0u8; 4096];
            let read = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
                .await
                .expect("the broker answers within 30 s")
                .expect("read");
            assert!(read > 0, "the broker closed the mqtt connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }

    /// Publishes every payload at QoS 1, keeping up to `window` unacknowledged
    /// at once, and returns when the broker has acknowledged them all.
    pub async fn publish_all(&mut self, topic: &str, payloads: &[String], window: usize) {
        let mut sent = 0;
        let mut acked = 0;
        while acked < payloads.len() {
            while sent < payloads.len() && sent - acked < window.max(1) {
                self.next_id = self.next_id.checked_add(1).unwrap_or(1);
                let mut publish =
                    Publish::new(topic, QoS::AtLeastOnce, payloads[sent].as_bytes().to_vec());
                publish.pkid = self.next_id;
                self.write(Packet::Publish(publish)).await;
                sent += 1;
            }
            if let Packet::PubAck(_) = self.read().await {
                acked += 1;
            }
        }
    }

    /// Publishes at QoS 1 and waits for the broker's PUBACK.
    pub async fn publish(&mut self, topic: &str, payload: &str) {
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload.as_bytes().to_vec());
        publish.pkid = self.next_id;
        self.write(Packet::Publish(publish)).await;
        loop {
            if let Packet::PubAck(ack) = self.read().await {
                if ack.pkid == self.next_id {
                    return;
                }
            }
        }
    }
}
