//! STOMP 1.2 over WebSocket (subprotocol `v12.stomp`): RabbitMQ Web-STOMP,
//! ActiveMQ, Artemis.
//!
//! After the WebSocket opens, Herald sends `CONNECT` (login, passcode,
//! virtual host, heart-beats) and one `SUBSCRIBE` per destination with
//! `ack:client-individual`. Each `MESSAGE` is mapped ([`super::broker`]) and
//! acknowledged only after its transaction commits, so a crash before the
//! commit means the broker delivers it again; the sender's message id
//! (`amqp-message-id` unless the source names another header) makes that
//! redelivery a duplicate the store skips. A durable subscription keeps a
//! queue on the broker while Herald is off.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message as WsFrame;

use super::broker::{self, Delivery, PendingAcks};
use super::{closed, send_failed, ParseError, Peer, SessionEnd, Socket, SourceContext, SourceSpec};
use crate::i18n::text;
use crate::model::{now_ms, Cursor};

/// The WebSocket subprotocol asked for.
pub const SUBPROTOCOL: &str = "v12.stomp";
/// The header that identifies a message across redeliveries by default:
/// RabbitMQ puts the AMQP `message_id` property there.
pub const DEFAULT_ID_HEADER: &str = "amqp-message-id";
/// Most messages the broker sends before Herald acknowledges some (RabbitMQ).
const PREFETCH: u32 = 1000;

/// One STOMP frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub command: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Frame {
    pub fn new(command: &str) -> Frame {
        Frame {
            command: command.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Frame {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A header's value; when repeated, the first one counts (STOMP 1.2).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The frame on the wire, NUL-terminated. Header values are escaped,
    /// except in CONNECT, which 1.2 leaves unescaped.
    pub fn encode(&self) -> Vec<u8> {
        let escape = self.command != "CONNECT";
        let mut out = Vec::with_capacity(64 + self.body.len());
        out.extend_from_slice(self.command.as_bytes());
        out.push(b'\n');
        for (name, value) in &self.headers {
            if escape {
                out.extend_from_slice(escape_header(name).as_bytes());
                out.push(b':');
                out.extend_from_slice(escape_header(value).as_bytes());
            } else {
                out.extend_from_slice(name.as_bytes());
                out.push(b':');
                out.extend_from_slice(value.as_bytes());
            }
            out.push(b'\n');
        }
        if !self.body.is_empty() {
            out.extend_from_slice(format!("content-length:{}\n", self.body.len()).as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(0);
        out
    }
}

fn escape_header(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            ':' => out.push_str("\\c"),
            other => out.push(other),
        }
    }
    out
}

fn unescape_header(header: &str) -> Result<String, ParseError> {
    let mut out = String::with_capacity(header.len());
    let mut characters = header.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match characters.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('c') => out.push(':'),
            other => {
                return Err(ParseError(text(
                    "frame.stomp_bad_escape",
                    &[
                        ("header", &format!("{header:?}")),
                        ("escape", &other.map(String::from).unwrap_or_default()),
                    ],
                )))
            }
        }
    }
    Ok(out)
}

/// Most headers one frame may carry, and most bytes of its header block.
const MAX_HEADERS: usize = 256;
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Parses every frame in one WebSocket message. End-of-line bytes between
/// frames are heart-beats and yield nothing.
pub fn parse(data: &[u8]) -> Result<Vec<Frame>, ParseError> {
    let mut frames = Vec::new();
    let mut rest = data;
    loop {
        while let Some((first, tail)) = rest.split_first() {
            if *first == b'\n' || *first == b'\r' {
                rest = tail;
            } else {
                break;
            }
        }
        if rest.is_empty() {
            return Ok(frames);
        }
        let (frame, tail) = parse_one(rest)?;
        frames.push(frame);
        rest = tail;
    }
}

fn parse_one(data: &[u8]) -> Result<(Frame, &[u8]), ParseError> {
    let mut lines = data;
    // `unfinished` says where the frame ended too soon.
    let mut next_line = |unfinished: &str| -> Result<&[u8], ParseError> {
        let end = lines
            .iter()
            .position(|byte| *byte == b'\n')
            .ok_or_else(|| ParseError(text(unfinished, &[])))?;
        let line = &lines[..end];
        lines = &lines[end + 1..];
        Ok(line.strip_suffix(b"\r").unwrap_or(line))
    };
    let command = std::str::from_utf8(next_line("frame.stomp_ends_in_command")?)
        .map_err(|_| ParseError(text("frame.stomp_command_not_utf8", &[])))?
        .to_string();
    if command.is_empty() || !command.bytes().all(|byte| byte.is_ascii_uppercase()) {
        let shown = command.chars().take(40).collect::<String>();
        return Err(ParseError(text(
            "frame.stomp_not_command",
            &[("command", &format!("{shown:?}"))],
        )));
    }
    let problem = |key: &str, args: &[(&str, &str)]| {
        let mut all = vec![("command", command.as_str())];
        all.extend_from_slice(args);
        ParseError(text(key, &all))
    };
    let escaped = command != "CONNECTED";
    let mut headers = Vec::new();
    let mut header_bytes = 0;
    loop {
        let line = next_line("frame.stomp_ends_in_headers")?;
        if line.is_empty() {
            break;
        }
        header_bytes += line.len();
        if headers.len() >= MAX_HEADERS || header_bytes > MAX_HEADER_BYTES {
            return Err(problem(
                "frame.stomp_too_many_headers",
                &[
                    ("max", &MAX_HEADERS.to_string()),
                    ("kib", &(MAX_HEADER_BYTES / 1024).to_string()),
                ],
            ));
        }
        let line =
            std::str::from_utf8(line).map_err(|_| problem("frame.stomp_header_not_utf8", &[]))?;
        let (name, value) = line.split_once(':').ok_or_else(|| {
            problem(
                "frame.stomp_header_no_colon",
                &[("line", &format!("{line:?}"))],
            )
        })?;
        let (name, value) = if escaped {
            (unescape_header(name)?, unescape_header(value)?)
        } else {
            (name.to_string(), value.to_string())
        };
        headers.push((name, value));
    }
    let rest = lines;
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map(|(_, value)| {
            value.trim().parse::<usize>().map_err(|_| {
                ParseError(text(
                    "frame.stomp_bad_length",
                    &[("value", &format!("{value:?}"))],
                ))
            })
        })
        .transpose()?;
    let (body, tail) = match length {
        Some(length) => {
            if rest.len() <= length || rest[length] != 0 {
                return Err(problem(
                    "frame.stomp_body_length",
                    &[("length", &length.to_string())],
                ));
            }
            (&rest[..length], &rest[length + 1..])
        }
        None => {
            let end = rest
                .iter()
                .position(|byte| *byte == 0)
                .ok_or_else(|| problem("frame.stomp_no_nul", &[]))?;
            (&rest[..end], &rest[end + 1..])
        }
    };
    Ok((
        Frame {
            command,
            headers,
            body: body.to_vec(),
        },
        tail,
    ))
}

/// The routing key or queue name of a destination, as the message's topic:
/// `/exchange/amq.topic/orders.eu` and `/topic/orders.eu` give `orders.eu`.
pub fn destination_topic(destination: &str) -> String {
    let parts: Vec<&str> = destination.trim_start_matches('/').splitn(3, '/').collect();
    match parts.as_slice() {
        ["exchange", _, key] => (*key).to_string(),
        ["amq", "queue", name] => (*name).to_string(),
        [_, rest @ ..] if !rest.is_empty() => rest.join("/"),
        _ => destination.to_string(),
    }
}

/// The CONNECT frame for a source.
pub fn connect_frame(spec: &SourceSpec, heartbeat: Duration) -> Frame {
    // STOMP 1.2 requires `host`. RabbitMQ reads it as the virtual host and
    // refuses a name it does not know (the server's host name, say), while
    // ActiveMQ and Artemis ignore it; so the default is RabbitMQ's `/`.
    let host = spec
        .config
        .virtual_host
        .clone()
        .unwrap_or_else(|| "/".into());
    let beat = heartbeat.as_millis();
    let mut frame = Frame::new("CONNECT")
        .header("accept-version", "1.2")
        .header("host", host)
        .header("heart-beat", format!("{beat},{beat}"));
    if let (Some(login), Some(passcode)) = (&spec.credentials.username, &spec.credentials.password)
    {
        frame = frame
            .header("login", login.clone())
            .header("passcode", passcode.expose());
    }
    frame
}

/// CONNECT headers are sent unescaped (STOMP 1.2), so a line break or NUL in
/// a login, password or virtual host would end the header early and let
/// the rest of the value be read as headers of its own.
pub fn connect_is_sendable(frame: &Frame) -> bool {
    frame.headers.iter().all(|(name, value)| {
        !name.contains(['\n', '\r', '\0']) && !value.contains(['\n', '\r', '\0'])
    })
}

/// The SUBSCRIBE frames for a source: one per destination.
pub fn subscribe_frames(spec: &SourceSpec) -> Vec<Frame> {
    let client_id = spec
        .config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("herald-{}", spec.id));
    spec.config
        .subscriptions
        .iter()
        .enumerate()
        .map(|(index, destination)| {
            let frame = Frame::new("SUBSCRIBE")
                .header("id", format!("{client_id}-{index}"))
                .header("destination", destination.clone())
                .header("ack", "client-individual")
                .header("prefetch-count", PREFETCH.to_string());
            if spec.config.durable {
                // RabbitMQ keeps the queue behind a durable subscription,
                // named after its id, while the client is away.
                frame
                    .header("durable", "true")
                    .header("auto-delete", "false")
            } else {
                frame
            }
        })
        .collect()
}

/// The heart-beat intervals agreed in CONNECTED: how often Herald must send
/// one, and how long the server may stay silent.
fn negotiate(ours: Duration, connected: &Frame) -> (Option<Duration>, Option<Duration>) {
    let (server_sends, server_wants) = connected
        .get("heart-beat")
        .and_then(|value| value.split_once(','))
        .map(|(sends, wants)| {
            (
                sends.trim().parse::<u64>().unwrap_or(0),
                wants.trim().parse::<u64>().unwrap_or(0),
            )
        })
        .unwrap_or((0, 0));
    let ours = ours.as_millis() as u64;
    let send =
        (server_wants > 0 && ours > 0).then(|| Duration::from_millis(ours.max(server_wants)));
    let receive =
        (server_sends > 0 && ours > 0).then(|| Duration::from_millis(ours.max(server_sends)));
    (send, receive)
}

/// A STOMP session over an open WebSocket, until it ends.
pub(super) async fn session(
    spec: &SourceSpec,
    mut socket: Socket,
    context: &mut SourceContext,
    last_seen: &mut Option<Cursor>,
) -> SessionEnd {
    let connected_at = Instant::now();
    let failed = super::failure_since(connected_at);
    let read_timeout = Duration::from_secs(spec.config.read_timeout_secs.max(1));
    let heartbeat = read_timeout / 3;
    let connect = connect_frame(spec, heartbeat);
    if !connect_is_sendable(&connect) {
        return SessionEnd::AuthFailed(text("connection.stomp_unsendable_login", &[]));
    }
    if let Err(error) = socket.send(WsFrame::binary(connect.encode())).await {
        return failed(send_failed("CONNECT", &error));
    }
    let connected =
        match tokio::time::timeout(super::CONNECT_TIMEOUT, next_frames(&mut socket)).await {
            Err(_) => return failed(text("connection.no_connect_answer", &[])),
            Ok(Err(end)) => return end,
            Ok(Ok(frames)) => frames,
        };
    let Some(connected) = connected.into_iter().next() else {
        return failed(text("connection.connect_answer_empty", &[]));
    };
    match connected.command.as_str() {
        "CONNECTED" => {}
        "ERROR" => {
            let reason = error_text(&connected);
            let args = [("reason", reason.as_str())];
            return if broker::is_auth_refusal(&reason) {
                SessionEnd::AuthFailed(text("connection.stomp_login_refused", &args))
            } else {
                failed(text("connection.connect_refused", &args))
            };
        }
        other => return failed(text("connection.connect_answer", &[("answer", other)])),
    }
    let (send_every, server_beats) = negotiate(heartbeat, &connected);
    let silence = server_beats.map_or(read_timeout, |beat| (beat * 2).max(read_timeout));
    for frame in subscribe_frames(spec) {
        if let Err(error) = socket.send(WsFrame::binary(frame.encode())).await {
            return failed(send_failed("SUBSCRIBE", &error));
        }
    }
    if !super::send_state(
        context,
        spec.id,
        super::SourceState::Connected { since: now_ms() },
    )
    .await
    {
        return SessionEnd::Shutdown;
    }
    let mut acks: PendingAcks<String> = PendingAcks::new();
    let mut shutdown = context.shutdown.clone();
    let beat_every = send_every
        .unwrap_or(heartbeat)
        .max(Duration::from_millis(100));
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + beat_every, beat_every);
    let mut deadline = tokio::time::Instant::now() + silence;
    let id_header = spec
        .config
        .id_header
        .clone()
        .unwrap_or_else(|| DEFAULT_ID_HEADER.to_string());
    loop {
        tokio::select! {
            biased;
            _ = super::stopped(&mut shutdown) => {
                // A connection test stores nothing, so it has nothing to ack.
                if context.store.is_some() {
                    broker::drain(&mut socket, &mut acks, encode_acks).await;
                }
                let _ = socket.send(WsFrame::binary(Frame::new("DISCONNECT").encode())).await;
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
                return SessionEnd::Shutdown;
            }
            Some(committed) = acks.committed.recv() => {
                if let Err(error) = broker::send_ready(&mut socket, &mut acks, committed, encode_acks).await {
                    return failed(error);
                }
            }
            next = tokio::time::timeout_at(deadline, socket.next()) => {
                let data = match next {
                    Err(_) => return failed(super::link_dead(silence)),
                    Ok(None) => return failed(closed(Peer::Broker, "")),
                    // RabbitMQ sends STOMP frames as WebSocket text by
                    // default, whatever the body holds.
                    Ok(Some(Err(tokio_tungstenite::tungstenite::Error::Utf8(_)))) => {
                        return failed(text("connection.stomp_not_utf8", &[]));
                    }
                    Ok(Some(Err(error))) => return failed(super::connection_error(&error)),
                    Ok(Some(Ok(WsFrame::Close(close)))) => {
                        let reason = close.map(|close| format!("{} {}", u16::from(close.code), close.reason)).unwrap_or_default();
                        return failed(closed(Peer::Broker, &reason));
                    }
                    Ok(Some(Ok(WsFrame::Text(frame)))) => frame.as_bytes().to_vec(),
                    Ok(Some(Ok(WsFrame::Binary(bytes)))) => bytes.to_vec(),
                    Ok(Some(Ok(WsFrame::Ping(_)))) => {
                        let _ = socket.flush().await;
                        Vec::new()
                    }
                    Ok(Some(Ok(_))) => Vec::new(),
                };
                deadline = tokio::time::Instant::now() + silence;
                // The WebSocket's own ceiling bounds memory; a MESSAGE over
                // the source's limit is refused (and acknowledged) in `deliver`.
                let frames = match parse(&data) {
                    Ok(frames) => frames,
                    Err(error) => {
                        if !super::count_malformed(context, spec.id, error.0).await {
                            return SessionEnd::Shutdown;
                        }
                        continue;
                    }
                };
                for frame in frames {
                    if frame.command == "ERROR" {
                        return failed(text("connection.broker_error", &[("reason", &error_text(&frame))]));
                    }
                    if frame.command == "MESSAGE"
                        && !deliver(spec, frame, &id_header, &mut acks, context, last_seen).await
                    {
                        return SessionEnd::Shutdown;
                    }
                }
            }
            _ = beat.tick() => {
                // A heart-beat is an end-of-line on its own. A server that
                // sends none is still asked for a WebSocket pong, so a dead
                // link shows within the read timeout.
                if let Err(error) = socket.send(WsFrame::text("\n")).await {
                    return failed(text("connection.heartbeat_failed", &[("error", &error.to_string())]));
                }
                if server_beats.is_none() {
                    if let Err(error) = socket.send(WsFrame::Ping(Vec::new().into())).await {
                        return failed(text("connection.ping_failed", &[("error", &error.to_string())]));
                    }
                }
            }
        }
    }
}

/// Hands one MESSAGE to the engine with its ack waiting for the commit.
async fn deliver(
    spec: &SourceSpec,
    frame: Frame,
    id_header: &str,
    acks: &mut PendingAcks<String>,
    context: &SourceContext,
    last_seen: &mut Option<Cursor>,
) -> bool {
    let ack_id = frame
        .get("ack")
        .or_else(|| frame.get("message-id"))
        .map(str::to_string);
    if frame.body.len() > spec.config.max_frame_bytes {
        let place = frame.get("destination").unwrap_or("?").to_string();
        return broker::refuse_oversized(context, spec, acks, ack_id, frame.body.len(), &place)
            .await;
    }
    let headers: Map<String, Value> = frame
        .headers
        .iter()
        .rev() // so the first of a repeated header wins
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    let delivery = Delivery {
        body: &frame.body,
        headers,
        topic: frame.get("destination").map(destination_topic),
        id: frame
            .get(id_header)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
        fallback_id: format!(
            "stomp:{}",
            frame.get("message-id").unwrap_or(&now_ms().to_string())
        ),
    };
    let message = broker::to_message(delivery, &spec.config.map, now_ms());
    let notice = ack_id.map(|ack_id| acks.expect(ack_id));
    super::forward(context, spec, message, notice, last_seen).await
}

/// ACK frames for these ack ids, to travel in one WebSocket message.
fn encode_acks(ids: Vec<String>) -> Result<Vec<u8>, String> {
    Ok(ids
        .into_iter()
        .flat_map(|id| Frame::new("ACK").header("id", id).encode())
        .collect())
}

/// Reads WebSocket messages until one holds a STOMP frame.
async fn next_frames(socket: &mut Socket) -> Result<Vec<Frame>, SessionEnd> {
    let failed = |error: String| SessionEnd::Failed {
        error,
        connected_for: Duration::ZERO,
    };
    loop {
        let data = match socket.next().await {
            None | Some(Ok(WsFrame::Close(_))) => return Err(failed(closed(Peer::Broker, ""))),
            Some(Err(error)) => return Err(failed(super::connection_error(&error))),
            Some(Ok(WsFrame::Text(frame))) => frame.as_bytes().to_vec(),
            Some(Ok(WsFrame::Binary(bytes))) => bytes.to_vec(),
            Some(Ok(_)) => continue,
        };
        let frames = parse(&data).map_err(|error| failed(error.0))?;
        if !frames.is_empty() {
            return Ok(frames);
        }
    }
}

/// An ERROR frame's `message` header and body, for a person to read.
fn error_text(frame: &Frame) -> String {
    let message = frame.get("message").unwrap_or_default().trim();
    let body = String::from_utf8_lossy(&frame.body);
    let body: String = body.trim().chars().take(300).collect();
    match (message.is_empty(), body.is_empty()) {
        (false, false) => format!("{message} ({body})"),
        (false, true) => message.to_string(),
        (true, false) => body,
        (true, true) => text("connection.no_reason", &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_with_escaped_headers() {
        let frame = Frame::new("SEND")
            .header("destination", "/queue/a:b")
            .header("note", "line\nbreak\\")
            .header("empty", "");
        let mut frame = frame;
        frame.body = b"hello\0world".to_vec();
        let encoded = frame.encode();
        let parsed = parse(&encoded).expect("parses");
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].get("destination"), Some("/queue/a:b"));
        assert_eq!(parsed[0].get("note"), Some("line\nbreak\\"));
        assert_eq!(parsed[0].body, b"hello\0world");
    }

    #[test]
    fn a_line_break_in_a_connect_header_is_refused_not_sent() {
        let clean = Frame::new("CONNECT")
            .header("login", "guest")
            .header("passcode", "a:b\\c");
        assert!(connect_is_sendable(&clean));
        for bad in ["pass\nreceipt:1", "pass\r", "pass\0word"] {
            let frame = Frame::new("CONNECT")
                .header("login", "guest")
                .header("passcode", bad);
            assert!(!connect_is_sendable(&frame), "{bad:?}");
        }
    }

    #[test]
    fn heartbeats_and_several_frames_in_one_message() {
        let data = b"\n\r\nMESSAGE\nack:1\n\nfirst\0\nMESSAGE\nack:2\n\nsecond\0\n";
        let frames = parse(data).expect("parses");
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].get("ack"), Some("2"));
        assert_eq!(frames[1].body, b"second");
        assert!(parse(b"\n").expect("a heart-beat").is_empty());
    }

    #[test]
    fn the_first_repeated_header_wins_and_connected_is_not_unescaped() {
        let frames = parse(b"MESSAGE\nfoo:1\nfoo:2\n\n\0").expect("parses");
        assert_eq!(frames[0].get("foo"), Some("1"));
        let frames = parse(b"CONNECTED\nserver:a\\cb\n\n\0").expect("parses");
        assert_eq!(frames[0].get("server"), Some("a\\cb"));
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        for bad in [
            &b"MESSAGE\nack:1\n\nno terminator"[..],
            b"MESSAGE\nno-colon\n\n\0",
            b"MESSAGE\ncontent-length:10\n\nshort\0",
            b"MESSAGE\ncontent-length:x\n\n\0",
            b"MESSAGE\nbad:\\q\n\n\0",
            b"lowercase\n\n\0",
            b"MESSAGE",
            b"\xff\xfe\n\n\0",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let many: String = (0..300).map(|index| format!("h{index}:v\n")).collect();
        let frame = format!("MESSAGE\n{many}\n\0");
        assert!(parse(frame.as_bytes()).is_err(), "too many headers");
    }

    #[test]
    fn destinations_become_topics() {
        assert_eq!(
            destination_topic("/exchange/amq.topic/orders.eu"),
            "orders.eu"
        );
        assert_eq!(destination_topic("/topic/alerts.cpu"), "alerts.cpu");
        assert_eq!(destination_topic("/queue/alerts"), "alerts");
        assert_eq!(destination_topic("/amq/queue/backups"), "backups");
        assert_eq!(destination_topic("odd"), "odd");
    }

    #[test]
    fn heartbeats_are_negotiated() {
        let connected = Frame::new("CONNECTED").header("heart-beat", "10000,20000");
        let (send, receive) = negotiate(Duration::from_secs(30), &connected);
        assert_eq!(send, Some(Duration::from_secs(30)));
        assert_eq!(receive, Some(Duration::from_secs(30)));
        let connected = Frame::new("CONNECTED").header("heart-beat", "0,0");
        assert_eq!(negotiate(Duration::from_secs(30), &connected), (None, None));
    }
}
