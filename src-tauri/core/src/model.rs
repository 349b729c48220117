//! Domain types shared by every part of the engine: sources, messages,
//! priorities, cursors. Nothing here does I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Row id of a source in the `sources` table.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SourceId(pub i64);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Row id of a stored message. Ids grow with arrival, so "newest first" is
/// "highest id first" and keyset pagination works on this one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub i64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The wire protocol a source speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Ntfy,
    Gotify,
    Json,
    /// STOMP 1.2 over WebSocket (RabbitMQ Web-STOMP, ActiveMQ, Artemis).
    Stomp,
    /// MQTT 3.1.1 over WebSocket (RabbitMQ Web-MQTT, EMQX, HiveMQ, Mosquitto).
    Mqtt,
    /// The local publish API: an HTTP listener on loopback for scripts.
    Local,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ntfy => "ntfy",
            Protocol::Gotify => "gotify",
            Protocol::Json => "json",
            Protocol::Stomp => "stomp",
            Protocol::Mqtt => "mqtt",
            Protocol::Local => "local",
        }
    }

    pub fn parse(text: &str) -> Option<Protocol> {
        match text {
            "ntfy" => Some(Protocol::Ntfy),
            "gotify" => Some(Protocol::Gotify),
            "json" => Some(Protocol::Json),
            "stomp" => Some(Protocol::Stomp),
            "mqtt" => Some(Protocol::Mqtt),
            "local" => Some(Protocol::Local),
            _ => None,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Priority on Herald's own 1–5 scale (ntfy's scale: 1 min, 3 default, 5 urgent).
/// Every protocol is mapped onto it so filters and rules work across sources;
/// the protocol's own value is kept beside it as `raw_priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Priority(u8);

impl Priority {
    pub const MIN: Priority = Priority(1);
    pub const LOW: Priority = Priority(2);
    pub const DEFAULT: Priority = Priority(3);
    pub const HIGH: Priority = Priority(4);
    pub const URGENT: Priority = Priority(5);

    /// Clamps any integer into 1–5.
    pub fn clamped(value: i64) -> Priority {
        Priority(value.clamp(1, 5) as u8)
    }

    /// Gotify's 0–10 scale: 0–3 low, 4–7 normal, 8–10 high, spread so that
    /// the urgency bands (1–2 low, 3 normal, 4–5 critical) line up with Gotify's.
    pub fn from_gotify(value: i64) -> Priority {
        Priority(match value {
            i64::MIN..=1 => 1,
            2..=3 => 2,
            4..=7 => 3,
            8..=9 => 4,
            _ => 5,
        })
    }

    /// Parses names used by ntfy and common JSON feeds, or a number.
    pub fn from_name(text: &str) -> Option<Priority> {
        let lowered = text.trim().to_ascii_lowercase();
        match lowered.as_str() {
            "min" | "lowest" => Some(Priority(1)),
            "low" | "info" => Some(Priority(2)),
            "default" | "normal" | "medium" => Some(Priority(3)),
            "high" | "warning" | "warn" => Some(Priority(4)),
            "max" | "urgent" | "critical" | "highest" | "error" | "emergency" => Some(Priority(5)),
            other => other.parse::<i64>().ok().map(Priority::clamped),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for Priority {
    fn default() -> Self {
        Priority::DEFAULT
    }
}

/// How a message body is meant to be rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Text,
    Markdown,
}

impl BodyFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyFormat::Text => "text",
            BodyFormat::Markdown => "markdown",
        }
    }

    pub fn parse(text: &str) -> BodyFormat {
        if text == "markdown" {
            BodyFormat::Markdown
        } else {
            BodyFormat::Text
        }
    }
}

/// A message as a protocol adapter produced it, before it is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewMessage {
    /// The id the sender gave it; unique per source. Replays dedup on it.
    pub remote_id: String,
    /// When the sender says it was sent, in Unix milliseconds.
    pub sent_at: i64,
    pub expires_at: Option<i64>,
    pub topic: Option<String>,
    pub title: String,
    pub body: String,
    pub format: BodyFormat,
    pub priority: Priority,
    /// The priority on the protocol's own scale, when it had one.
    pub raw_priority: Option<i64>,
    pub tags: Vec<String>,
    pub click: Option<String>,
    pub icon: Option<String>,
    pub actions: Option<serde_json::Value>,
    pub attachment: Option<serde_json::Value>,
    pub group_key: Option<String>,
    pub extras: Option<serde_json::Value>,
    /// The sender's id for a message this one updates (ntfy's
    /// `sequence_id`): its notification is replaced rather than added to.
    /// Not stored; the update is stored as a message of its own.
    #[serde(skip)]
    pub updates: Option<String>,
}

/// Where a source has got to, so a reconnect (or a restart) resumes exactly
/// there. Stored in its own table and advanced in the same transaction as the
/// messages it covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub last_id: String,
    /// Unix milliseconds of the last message.
    pub last_time: i64,
}

/// One received message on its way from a source to the store, with the
/// cursor that committing it advances to.
#[derive(Debug, Clone)]
pub struct Envelope {
    pub source_id: SourceId,
    pub message: NewMessage,
    pub cursor: Cursor,
    /// When the frame was read off the socket, for latency figures.
    pub received: std::time::Instant,
    pub derived: DerivedColumns,
    /// What the routing rules decided; until they run, store and notify.
    pub decision: crate::rules::Decision,
    /// Who waits for this message to be committed: a broker acknowledges
    /// it only then, and the publish API answers only then.
    pub notice: Option<CommitNotice>,
}

/// Where the writer reports, after the commit, what became of one message.
#[derive(Debug, Clone)]
pub struct CommitNotice {
    /// The waiter's own reference (a STOMP ack id, an MQTT packet id).
    pub tag: u64,
    pub to: tokio::sync::mpsc::UnboundedSender<Committed>,
}

/// What became of a message once its transaction committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    pub tag: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored(MessageId),
    /// Already in the inbox (a redelivery or a replay).
    Duplicate,
    /// A routing rule dropped it.
    Dropped,
}

impl Envelope {
    /// Wraps a received message; prepares its derived columns here, on the
    /// source's task, so the single writer thread only binds values.
    pub fn new(source_id: SourceId, message: NewMessage, cursor: Cursor) -> Envelope {
        Envelope {
            source_id,
            derived: DerivedColumns::new(&message),
            message,
            cursor,
            received: std::time::Instant::now(),
            decision: crate::rules::Decision::pass(),
            notice: None,
        }
    }

    /// Takes the rules' decision: tags and group are written into the
    /// message (and its derived columns redone); the rest travels with it
    /// to the writer and the outputs.
    pub fn route(&mut self, decision: crate::rules::Decision) {
        let retag = !decision.add_tags.is_empty();
        if retag {
            self.message.tags.extend(decision.add_tags.iter().cloned());
        }
        if let Some(group) = &decision.group {
            self.message.group_key = Some(group.clone());
        }
        if retag {
            self.derived = DerivedColumns::new(&self.message);
        }
        self.decision = decision;
    }
}

/// The columns a stored message derives from its fields: JSON text of the
/// structured fields and the search index's folded text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DerivedColumns {
    pub tags: Option<String>,
    pub actions: Option<String>,
    pub attachment: Option<String>,
    pub extras: Option<String>,
    /// Folded search text; `None` where it equals the field itself (no CJK).
    pub search_title: Option<String>,
    pub search_body: Option<String>,
    pub search_tags: Option<String>,
}

impl DerivedColumns {
    pub fn new(message: &NewMessage) -> DerivedColumns {
        use crate::search_text::fold_for_index;
        use std::borrow::Cow;
        let owned = |folded: Cow<'_, str>| match folded {
            Cow::Borrowed(_) => None,
            Cow::Owned(text) => Some(text),
        };
        let json =
            |value: &Option<serde_json::Value>| value.as_ref().map(serde_json::Value::to_string);
        // A list of strings always serialises.
        let tags = (!message.tags.is_empty())
            .then(|| serde_json::Value::from(message.tags.clone()).to_string());
        DerivedColumns {
            search_title: owned(fold_for_index(&message.title)),
            search_body: owned(fold_for_index(&message.body)),
            search_tags: tags.as_deref().and_then(|tags| owned(fold_for_index(tags))),
            tags,
            actions: json(&message.actions),
            attachment: json(&message.attachment),
            extras: json(&message.extras),
        }
    }
}

/// A message as the inbox holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub source_id: SourceId,
    pub source_name: String,
    pub remote_id: String,
    /// Unix milliseconds when Herald stored it.
    pub received_at: i64,
    pub sent_at: i64,
    pub expires_at: Option<i64>,
    pub topic: Option<String>,
    pub title: String,
    pub body: String,
    pub format: BodyFormat,
    pub priority: Priority,
    pub raw_priority: Option<i64>,
    pub tags: Vec<String>,
    pub click: Option<String>,
    pub icon: Option<String>,
    pub actions: Option<serde_json::Value>,
    pub attachment: Option<serde_json::Value>,
    pub group_key: Option<String>,
    pub extras: Option<serde_json::Value>,
    pub read: bool,
    pub starred: bool,
    pub snoozed_until: Option<i64>,
    pub archived_at: Option<i64>,
}

/// Unix milliseconds now. Only the edges of the program call this; logic
/// takes the time as an argument.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gotify_priorities_land_in_matching_urgency_bands() {
        let check = |gotify: i64, expected: u8| {
            assert_eq!(
                Priority::from_gotify(gotify).get(),
                expected,
                "gotify {gotify}"
            );
        };
        check(0, 1);
        check(3, 2);
        check(4, 3);
        check(7, 3);
        check(8, 4);
        check(10, 5);
        check(99, 5);
        check(-4, 1);
    }

    #[test]
    fn priority_names_and_numbers_parse() {
        assert_eq!(Priority::from_name("urgent"), Some(Priority::URGENT));
        assert_eq!(Priority::from_name(" High "), Some(Priority::HIGH));
        assert_eq!(Priority::from_name("9"), Some(Priority::URGENT));
        assert_eq!(Priority::from_name("bogus"), None);
    }
}
