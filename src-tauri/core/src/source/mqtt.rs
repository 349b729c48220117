//! MQTT 3.1.1 over WebSocket (subprotocol `mqtt`): RabbitMQ Web-MQTT, EMQX,
//! HiveMQ, Mosquitto with websockets.
//!
//! Packets are encoded and decoded by `rumqttc`'s codec; the connection is
//! Herald's own WebSocket, so TLS, extra CAs, headers, timeouts, backoff and
//! the refused-login handling are the same as every other source's. (The
//! crate's event loop would bring a second transport and reconnect logic of
//! its own; ARCHITECTURE.md says more.) A persistent session (clean session
//! off) keeps QoS 1 messages on the broker while Herald is away, and each
//! PUBACK is sent only after the message's transaction commits: a crash
//! before that means the broker sends it again.

use std::time::{Duration, Instant};

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Login, Packet, PubAck, PubComp, PubRec, Publish,
    Subscribe, SubscribeFilter, SubscribeReasonCode,
};
use rumqttc::mqttbytes::{self, QoS};
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message as WsFrame;

use super::broker::{self, Delivery, PendingAcks};
use super::{closed, send_failed, Peer, SessionEnd, Socket, SourceContext, SourceSpec};
use crate::i18n::text;
use crate::model::{now_ms, Cursor};

/// The WebSocket subprotocol asked for.
pub const SUBPROTOCOL: &str = "mqtt";

/// Whether a topic filter is well formed: `#` only as the whole last level,
/// `+` only as a whole level.
pub fn valid_filter(filter: &str) -> bool {
    !filter.is_empty() && mqttbytes::valid_filter(filter)
}

/// What to acknowledge once a message is committed.
#[derive(Debug, Clone, Copy)]
enum AckWith {
    PubAck(u16),
    PubRec(u16),
}

fn encode(packet: &Packet) -> Result<Vec<u8>, String> {
    let mut buffer = BytesMut::new();
    packet.write(&mut buffer, usize::MAX).map_err(|error| {
        text(
            "connection.encode_failed",
            &[
                ("packet", &format!("{packet:?}")),
                ("error", &error.to_string()),
            ],
        )
    })?;
    Ok(buffer.to_vec())
}

/// The CONNECT packet for a source.
fn connect_packet(spec: &SourceSpec, keep_alive: Duration) -> Connect {
    let client_id = spec
        .config
        .client_id
        .clone()
        .unwrap_or_else(|| format!("herald-{}", spec.id));
    let mut connect = Connect::new(client_id);
    connect.keep_alive = keep_alive.as_secs().clamp(1, u64::from(u16::MAX)) as u16;
    connect.clean_session = !spec.config.durable;
    if let (Some(username), Some(password)) =
        (&spec.credentials.username, &spec.credentials.password)
    {
        connect.login = Some(Login::new(username.clone(), password.expose()));
    }
    connect
}

fn qos(level: u8) -> QoS {
    if level == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    }
}

/// Reads WebSocket messages into `buffer` until a whole packet is there.
async fn next_packet(
    socket: &mut Socket,
    buffer: &mut BytesMut,
    max_packet: usize,
) -> Result<Packet, String> {
    loop {
        match Packet::read(buffer, max_packet) {
            Ok(packet) => return Ok(packet),
            Err(mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(error) => {
                let error = error.to_string();
                return Err(text("connection.broken_packet", &[("error", &error)]));
            }
        }
        match socket.next().await {
            None => return Err(closed(Peer::Broker, "")),
            Some(Err(error)) => return Err(super::connection_error(&error)),
            Some(Ok(WsFrame::Binary(bytes))) => buffer.extend_from_slice(&bytes),
            Some(Ok(WsFrame::Text(frame))) => buffer.extend_from_slice(frame.as_bytes()),
            Some(Ok(WsFrame::Ping(_))) => {
                let _ = socket.flush().await;
            }
            Some(Ok(WsFrame::Close(close))) => {
                let reason = close
                    .map(|close| format!("{} {}", u16::from(close.code), close.reason))
                    .unwrap_or_default();
                return Err(closed(Peer::Broker, &reason));
            }
            Some(Ok(_)) => {}
        }
    }
}

fn refusal(code: ConnectReturnCode) -> String {
    let key = match code {
        ConnectReturnCode::Success => "connection.mqtt_accepted",
        ConnectReturnCode::RefusedProtocolVersion => "connection.mqtt_protocol_version",
        ConnectReturnCode::BadClientId => "connection.mqtt_bad_client_id",
        ConnectReturnCode::ServiceUnavailable => "connection.mqtt_unavailable",
        ConnectReturnCode::BadUserNamePassword => "connection.mqtt_bad_login",
        ConnectReturnCode::NotAuthorized => "connection.mqtt_not_authorized",
    };
    text(key, &[])
}

/// An MQTT session over an open WebSocket, until it ends.
pub(super) async fn session(
    spec: &SourceSpec,
    mut socket: Socket,
    context: &mut SourceContext,
    last_seen: &mut Option<Cursor>,
) -> SessionEnd {
    let connected_at = Instant::now();
    let failed = super::failure_since(connected_at);
    let read_timeout = Duration::from_secs(spec.config.read_timeout_secs.max(1));
    let keep_alive = (read_timeout / 3).max(Duration::from_secs(1));
    // Larger packets are read (so the stream stays in step) and then refused.
    let max_packet = spec.config.max_frame_bytes.saturating_mul(2).max(64 << 20);
    let mut buffer = BytesMut::new();
    let send = |packet: Packet| encode(&packet).map(WsFrame::binary);
    let connect = match send(Packet::Connect(connect_packet(spec, keep_alive))) {
        Ok(frame) => frame,
        Err(error) => return failed(error),
    };
    if let Err(error) = socket.send(connect).await {
        return failed(send_failed("CONNECT", &error));
    }
    let answer = tokio::time::timeout(
        super::CONNECT_TIMEOUT,
        next_packet(&mut socket, &mut buffer, max_packet),
    )
    .await;
    match answer {
        Err(_) => return failed(text("connection.no_connect_answer", &[])),
        // RabbitMQ's Web-MQTT answers a bad login by closing the WebSocket
        // ("unauthenticated") instead of sending a CONNACK.
        Ok(Err(error)) if broker::is_auth_refusal(&error) => {
            return SessionEnd::AuthFailed(text("connection.login_refused", &[("error", &error)]))
        }
        Ok(Err(error)) => return failed(error),
        Ok(Ok(Packet::ConnAck(ConnAck { code, .. }))) => match code {
            ConnectReturnCode::Success => {}
            ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized => {
                return SessionEnd::AuthFailed(text(
                    "connection.login_refused",
                    &[("error", &refusal(code))],
                ))
            }
            other => {
                return failed(text(
                    "connection.connect_refused",
                    &[("reason", &refusal(other))],
                ))
            }
        },
        Ok(Ok(other)) => {
            return failed(text(
                "connection.connect_answer",
                &[("answer", &format!("{other:?}"))],
            ))
        }
    }
    let mut subscribe = Subscribe::new_many(
        spec.config
            .subscriptions
            .iter()
            .map(|filter| SubscribeFilter::new(filter.clone(), qos(spec.config.qos))),
    );
    subscribe.pkid = 1;
    match send(Packet::Subscribe(subscribe)) {
        Ok(frame) => {
            if let Err(error) = socket.send(frame).await {
                return failed(send_failed("SUBSCRIBE", &error));
            }
        }
        Err(error) => return failed(error),
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
    let mut acks: PendingAcks<AckWith> = PendingAcks::new();
    let mut shutdown = context.shutdown.clone();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
    let mut deadline = tokio::time::Instant::now() + read_timeout;
    loop {
        tokio::select! {
            biased;
            _ = super::stopped(&mut shutdown) => {
                // A connection test stores nothing, so it has nothing to ack.
                if context.store.is_some() {
                    broker::drain(&mut socket, &mut acks, encode_acks).await;
                }
                if let Ok(frame) = send(Packet::Disconnect) {
                    let _ = socket.send(frame).await;
                }
                let _ = tokio::time::timeout(Duration::from_secs(2), socket.close(None)).await;
                return SessionEnd::Shutdown;
            }
            Some(committed) = acks.committed.recv() => {
                if let Err(error) = broker::send_ready(&mut socket, &mut acks, committed, encode_acks).await {
                    return failed(error);
                }
            }
            packet = tokio::time::timeout_at(deadline, next_packet(&mut socket, &mut buffer, max_packet)) => {
                let packet = match packet {
                    Err(_) => return failed(super::link_dead(read_timeout)),
                    Ok(Err(error)) => return failed(error),
                    Ok(Ok(packet)) => packet,
                };
                deadline = tokio::time::Instant::now() + read_timeout;
                match packet {
                    Packet::Publish(publish) => {
                        let engine_running = deliver(spec, publish, &mut acks, context, last_seen).await;
                        if !engine_running {
                            return SessionEnd::Shutdown;
                        }
                    }
                    Packet::SubAck(suback) => {
                        let refused: Vec<&str> = suback
                            .return_codes
                            .iter()
                            .zip(&spec.config.subscriptions)
                            .filter(|(code, _)| matches!(code, SubscribeReasonCode::Failure))
                            .map(|(_, filter)| filter.as_str())
                            .collect();
                        if !refused.is_empty() {
                            return failed(text("connection.subscription_refused", &[("filters", &refused.join(", "))]));
                        }
                    }
                    Packet::PubRel(pubrel) => {
                        let frame = match send(Packet::PubComp(PubComp::new(pubrel.pkid))) {
                            Ok(frame) => frame,
                            Err(error) => return failed(error),
                        };
                        if let Err(error) = socket.send(frame).await {
                            return failed(send_failed("PUBCOMP", &error));
                        }
                    }
                    Packet::Disconnect => return failed(text("connection.session_ended", &[])),
                    _ => {}
                }
            }
            _ = ping.tick() => {
                let frame = match send(Packet::PingReq) {
                    Ok(frame) => frame,
                    Err(error) => return failed(error),
                };
                if let Err(error) = socket.send(frame).await {
                    return failed(send_failed("PINGREQ", &error));
                }
            }
        }
    }
}

async fn deliver(
    spec: &SourceSpec,
    publish: Publish,
    acks: &mut PendingAcks<AckWith>,
    context: &SourceContext,
    last_seen: &mut Option<Cursor>,
) -> bool {
    let ack = match publish.qos {
        QoS::AtMostOnce => None,
        QoS::AtLeastOnce => Some(AckWith::PubAck(publish.pkid)),
        QoS::ExactlyOnce => Some(AckWith::PubRec(publish.pkid)),
    };
    if publish.payload.len() > spec.config.max_frame_bytes {
        let size = publish.payload.len();
        return broker::refuse_oversized(context, spec, acks, ack, size, &publish.topic).await;
    }
    let now = now_ms();
    let headers = Map::from_iter([
        ("topic".to_string(), Value::String(publish.topic.clone())),
        ("retain".to_string(), Value::Bool(publish.retain)),
        ("dup".to_string(), Value::Bool(publish.dup)),
    ]);
    let delivery = Delivery {
        body: &publish.payload,
        headers,
        topic: Some(publish.topic.clone()),
        id: None,
        // MQTT 3.1.1 gives a message no identity of its own (packet ids are
        // reused), so without an id in the payload each delivery is kept.
        fallback_id: format!("mqtt:{now}:{}:{:x}", publish.pkid, rand::random::<u32>()),
    };
    let message = broker::to_message(delivery, &spec.config.map, now);
    let notice = ack.map(|ack| acks.expect(ack));
    super::forward(context, spec, message, notice, last_seen).await
}

/// PUBACK (or PUBREC) packets, to travel in one WebSocket message.
fn encode_acks(acks: Vec<AckWith>) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    for ack in acks {
        let packet = match ack {
            AckWith::PubAck(pkid) => Packet::PubAck(PubAck::new(pkid)),
            AckWith::PubRec(pkid) => Packet::PubRec(PubRec::new(pkid)),
        };
        bytes.extend(encode(&packet)?);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_filters_are_checked() {
        for good in ["alerts/#", "sensors/+/alarm", "#", "a/b/c", "+"] {
            assert!(valid_filter(good), "{good}");
        }
        for bad in ["", "alerts/#/more", "sensors/a+/x", "a/#b"] {
            assert!(!valid_filter(bad), "{bad}");
        }
    }

    #[test]
    fn packets_split_across_websocket_messages_are_joined() {
        let publish = Publish::new(
            "alerts/cpu",
            QoS::AtLeastOnce,
            br#"{"title":"hot"}"#.to_vec(),
        );
        let mut publish = publish;
        publish.pkid = 7;
        let bytes = encode(&Packet::Publish(publish.clone())).expect("encodes");
        let mut buffer = BytesMut::from(&bytes[..3]);
        assert!(matches!(
            Packet::read(&mut buffer, 1 << 20),
            Err(mqttbytes::Error::InsufficientBytes(_))
        ));
        buffer.extend_from_slice(&bytes[3..]);
        assert_eq!(
            Packet::read(&mut buffer, 1 << 20).expect("whole"),
            Packet::Publish(publish)
        );
    }
}
