//! What STOMP and MQTT sources share: turning a broker's message (a body
//! plus headers) into a [`NewMessage`], and acknowledging it only once it
//! is committed.
//!
//! The body is mapped like a JSON source's frame, with the source's field
//! map. The headers are added to the mapped document under `$headers`, so a
//! pointer such as `/$headers/priority` reads one. A body that is not a JSON
//! object is taken as text: the document is `{"message": <text>}`.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Message as WsFrame;

use super::{Socket, SourceContext, SourceSpec};
use crate::config::FieldMap;
use crate::i18n::text;
use crate::model::{CommitNotice, Committed, NewMessage};

/// The member of the mapped document that holds the message's headers.
pub const HEADERS_KEY: &str = "$headers";

/// A broker's message, before mapping.
pub struct Delivery<'a> {
    pub body: &'a [u8],
    /// STOMP headers, MQTT topic and flags; kept in `extras.$headers`.
    pub headers: Map<String, Value>,
    /// The topic the message is filed under (a routing key, an MQTT topic).
    pub topic: Option<String>,
    /// The sender's id for the message, when it gave one (a header).
    pub id: Option<String>,
    /// An id for a message that carries none: unique per delivery, so a
    /// redelivery of such a message is stored again (at least once).
    pub fallback_id: String,
}

/// Maps a delivery onto a message. Never fails: a body that does not fit the
/// mapping is kept as text, so nothing a broker delivers is thrown away.
pub fn to_message(delivery: Delivery<'_>, map: &FieldMap, now: i64) -> NewMessage {
    let text = String::from_utf8_lossy(delivery.body);
    let mut document = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(object)) => object,
        _ => Map::from_iter([("message".to_string(), Value::String(text.into_owned()))]),
    };
    document.insert(HEADERS_KEY.into(), Value::Object(delivery.headers));
    let document = Value::Object(document);
    let mapped_id = map
        .id
        .as_deref()
        .and_then(|pointer| document.pointer(pointer))
        .and_then(|value| match value {
            Value::String(text) if !text.is_empty() => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
    let remote_id = delivery.id.or(mapped_id).unwrap_or(delivery.fallback_id);
    let parsed = match super::json::parse(&document.to_string(), map, false, now) {
        Ok(super::Parsed::Messages(mut messages)) if messages.len() == 1 => messages.pop(),
        _ => None,
    };
    let mut message = parsed.unwrap_or_else(|| {
        // An object with neither a title nor a body where the map looks:
        // show the whole body rather than lose it.
        let body = document
            .as_object()
            .map(|object| {
                let mut object = object.clone();
                object.remove(HEADERS_KEY);
                Value::Object(object).to_string()
            })
            .unwrap_or_default();
        NewMessage {
            sent_at: now,
            body,
            extras: Some(document.clone()),
            ..NewMessage::default()
        }
    });
    message.remote_id = remote_id;
    if message.topic.is_none() {
        message.topic = delivery.topic;
    }
    message
}

/// Acknowledgements waiting for their commit: the session hands out a tag per
/// message and, when the writer reports the tag committed, sends the
/// broker's own ack reference (a STOMP ack id, an MQTT packet id).
pub struct PendingAcks<T> {
    next_tag: u64,
    waiting: HashMap<u64, T>,
    to: tokio::sync::mpsc::UnboundedSender<Committed>,
    pub committed: tokio::sync::mpsc::UnboundedReceiver<Committed>,
}

impl<T> PendingAcks<T> {
    pub fn new() -> PendingAcks<T> {
        let (to, committed) = tokio::sync::mpsc::unbounded_channel();
        PendingAcks {
            next_tag: 0,
            waiting: HashMap::new(),
            to,
            committed,
        }
    }

    /// Registers an ack to send after the commit, and returns the notice
    /// the message carries to the writer.
    pub fn expect(&mut self, reference: T) -> CommitNotice {
        self.next_tag += 1;
        self.waiting.insert(self.next_tag, reference);
        CommitNotice {
            tag: self.next_tag,
            to: self.to.clone(),
        }
    }

    /// Queues an ack for a message Herald refuses to store (too large), so
    /// the broker does not deliver it again and again. It is sent the way
    /// committed ones are, in order with them.
    pub fn acknowledge_refused(&mut self, reference: T) {
        let notice = self.expect(reference);
        let _ = notice.to.send(Committed {
            tag: notice.tag,
            outcome: crate::model::Outcome::Dropped,
        });
    }

    /// The broker's reference for a committed tag.
    pub fn take(&mut self, committed: Committed) -> Option<T> {
        self.waiting.remove(&committed.tag)
    }

    /// The references for `first` and for every other commit already
    /// reported, so one WebSocket message can carry all their acks.
    pub fn take_ready(&mut self, first: Committed) -> Vec<T> {
        let mut ready: Vec<T> = self.take(first).into_iter().collect();
        while let Ok(committed) = self.committed.try_recv() {
            ready.extend(self.take(committed));
        }
        ready
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

impl<T> Default for PendingAcks<T> {
    fn default() -> Self {
        PendingAcks::new()
    }
}

/// How a protocol puts acks on the wire: all of them in one WebSocket message.
pub type EncodeAcks<T> = fn(Vec<T>) -> Result<Vec<u8>, String>;

/// Sends the acks of `first` and of every other commit already reported.
pub async fn send_ready<T>(
    socket: &mut Socket,
    acks: &mut PendingAcks<T>,
    first: Committed,
    encode: EncodeAcks<T>,
) -> Result<(), String> {
    let ready = acks.take_ready(first);
    if ready.is_empty() {
        return Ok(());
    }
    socket
        .send(WsFrame::binary(encode(ready)?))
        .await
        .map_err(|error| text("connection.ack_failed", &[("error", &error.to_string())]))
}

/// Sends the acks of messages committed in the last moments before a clean
/// stop, so the broker has nothing to deliver again. Waits 2 s at most.
pub async fn drain<T>(socket: &mut Socket, acks: &mut PendingAcks<T>, encode: EncodeAcks<T>) {
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    while !acks.is_empty() {
        let Ok(Some(committed)) = tokio::time::timeout_at(until, acks.committed.recv()).await
        else {
            return;
        };
        if send_ready(socket, acks, committed, encode).await.is_err() {
            return;
        }
    }
}

/// Counts a message refused for its size and queues its ack: refused for
/// good, or the broker would send it again on every reconnect, holding one
/// of its prefetch slots. Returns false when the engine has gone.
pub async fn refuse_oversized<T>(
    context: &SourceContext,
    spec: &SourceSpec,
    acks: &mut PendingAcks<T>,
    ack: Option<T>,
    size: usize,
    place: &str,
) -> bool {
    if let Some(ack) = ack {
        acks.acknowledge_refused(ack);
    }
    let error = text(
        "frame.message_too_large",
        &[
            ("size", &size.to_string()),
            ("place", place),
            ("limit", &spec.config.max_frame_bytes.to_string()),
        ],
    );
    super::count_rejected(context, spec.id, error).await
}

/// Whether a broker's refusal is about who is connecting rather than a fault
/// that may pass: those park the source instead of retrying.
pub fn is_auth_refusal(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "access refused",
        "access_refused",
        "authentication",
        "not authorized",
        "not authorised",
        "unauthorized",
        "unauthenticated",
        "bad credentials",
        "login failed",
        "invalid credentials",
        "password",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Priority;

    fn delivery<'a>(body: &'a [u8], headers: &[(&str, &str)]) -> Delivery<'a> {
        Delivery {
            body,
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
                .collect(),
            topic: Some("orders.eu".into()),
            id: None,
            fallback_id: "delivery:1".into(),
        }
    }

    #[test]
    fn a_json_body_is_mapped_and_headers_are_reachable() {
        let mut map = FieldMap::default();
        map.set("priority=/$headers/priority").expect("valid");
        let message = to_message(
            delivery(
                br#"{"id":"o-17","title":"Order 17","message":"paid"}"#,
                &[("priority", "5")],
            ),
            &map,
            1_000,
        );
        assert_eq!(message.remote_id, "o-17");
        assert_eq!(message.title, "Order 17");
        assert_eq!(message.body, "paid");
        assert_eq!(message.topic.as_deref(), Some("orders.eu"));
        assert_eq!(message.priority, Priority::clamped(5));
        let extras = message.extras.expect("extras kept");
        assert_eq!(extras.pointer("/$headers/priority"), Some(&"5".into()));
    }

    #[test]
    fn text_and_bad_utf8_bodies_are_kept_as_text() {
        let message = to_message(
            delivery(b"Backup finished \xff", &[]),
            &FieldMap::default(),
            7,
        );
        assert_eq!(message.body, "Backup finished \u{fffd}");
        assert_eq!(message.remote_id, "delivery:1");
        assert_eq!(message.sent_at, 7);
    }

    #[test]
    fn an_unmappable_object_is_shown_whole() {
        let message = to_message(
            delivery(br#"{"temperature": 81}"#, &[]),
            &FieldMap::default(),
            7,
        );
        assert_eq!(message.body, r#"{"temperature":81}"#);
    }

    #[test]
    fn the_senders_header_id_wins() {
        let mut with_id = delivery(br#"{"id":"body-id","title":"t"}"#, &[]);
        with_id.id = Some("header-id".into());
        let message = to_message(with_id, &FieldMap::default(), 7);
        assert_eq!(message.remote_id, "header-id");
    }

    #[test]
    fn refusals_are_told_apart_from_faults() {
        assert!(is_auth_refusal("Access refused for user 'herald'"));
        assert!(is_auth_refusal("Bad CONNECT: Authentication failure"));
        assert!(is_auth_refusal(
            "the broker closed the connection 1002 unauthenticated"
        ));
        assert!(!is_auth_refusal("Processing error: queue not found"));
    }
}
