//! ntfy over WebSocket: `ws(s)://host/<topic[,topic…]>/ws`.
//!
//! The server sends JSON events: `open` and `keepalive` (liveness),
//! `message` (the payload), `poll_request` (a message to fetch over HTTP),
//! and newer ones Herald does not need. `since=<id>` resumes after a given
//! message; an id that aged out of the server's cache replays everything it
//! has, so resuming relies on the store's dedup.

use base64::Engine as _;
use serde::Deserialize;
use url::Url;

use super::{ParseError, Parsed};
use crate::config::{AuthPlacement, Credentials};
use crate::i18n::text;
use crate::model::{BodyFormat, Cursor, NewMessage, Priority};

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    id: Option<String>,
    event: String,
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    expires: Option<i64>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    click: Option<String>,
    #[serde(default)]
    icon: Option<String>,
    #[serde(default)]
    actions: Option<serde_json::Value>,
    #[serde(default)]
    attachment: Option<serde_json::Value>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    poll_id: Option<String>,
    /// Present when this message updates an earlier one (ntfy 2.16+).
    #[serde(default)]
    sequence_id: Option<String>,
}

/// Parses one frame (or one line of ntfy's JSON stream).
pub fn parse(frame: &str) -> Result<Parsed, ParseError> {
    let event: Event = serde_json::from_str(frame).map_err(|error| {
        ParseError(text(
            "frame.not_ntfy_event",
            &[("error", &error.to_string())],
        ))
    })?;
    match event.event.as_str() {
        "open" | "keepalive" => Ok(Parsed::Keepalive),
        "poll_request" => {
            let topic = event
                .topic
                .ok_or_else(|| ParseError(text("frame.poll_without_topic", &[])))?;
            let poll_id = event
                .poll_id
                .or(event.id)
                .ok_or_else(|| ParseError(text("frame.poll_without_id", &[])))?;
            Ok(Parsed::Poll { topic, poll_id })
        }
        "message" => {
            let id = event
                .id
                .filter(|id| !id.is_empty())
                .ok_or_else(|| ParseError(text("frame.message_without_id", &[])))?;
            let time = event
                .time
                .ok_or_else(|| ParseError(text("frame.message_without_time", &[("id", &id)])))?;
            let format = if event.content_type.as_deref() == Some("text/markdown") {
                BodyFormat::Markdown
            } else {
                BodyFormat::Text
            };
            Ok(Parsed::Messages(vec![NewMessage {
                sent_at: time.saturating_mul(1000),
                expires_at: event.expires.map(|expires| expires.saturating_mul(1000)),
                topic: event.topic,
                title: event.title.unwrap_or_default(),
                body: event.message.unwrap_or_default(),
                format,
                priority: event.priority.map(Priority::clamped).unwrap_or_default(),
                raw_priority: event.priority,
                tags: event.tags.unwrap_or_default(),
                click: event.click.filter(|click| !click.is_empty()),
                icon: event.icon.filter(|icon| !icon.is_empty()),
                actions: event.actions.filter(|actions| !actions.is_null()),
                attachment: event.attachment.filter(|attachment| !attachment.is_null()),
                group_key: None,
                extras: None,
                updates: event
                    .sequence_id
                    .filter(|sequence| !sequence.is_empty() && *sequence != id),
                remote_id: id,
            }]))
        }
        // message_delete, message_clear and events added later: liveness only.
        _ => Ok(Parsed::Keepalive),
    }
}

/// The `Authorization` header value for the credentials, if any.
pub fn authorization(credentials: &Credentials) -> Option<String> {
    if let Some(token) = &credentials.token {
        return Some(format!("Bearer {}", token.expose()));
    }
    let username = credentials.username.as_deref()?;
    let password = credentials
        .password
        .as_ref()
        .map(|password| password.expose())
        .unwrap_or("");
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    Some(format!("Basic {pair}"))
}

/// The URL to connect to: resumes after the cursor (or asks for the cached
/// backlog on a first connect) and carries `auth=` when configured so.
pub fn connect_url(
    base: &Url,
    cursor: Option<&Cursor>,
    credentials: &Credentials,
    placement: AuthPlacement,
) -> Url {
    let mut url = base.clone();
    let since = cursor
        .map_or("all", |cursor| cursor.last_id.as_str())
        .to_string();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key != "since" && key != "auth")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in &kept {
            query.append_pair(key, value);
        }
        query.append_pair("since", &since);
        if placement == AuthPlacement::Query {
            if let Some(header) = authorization(credentials) {
                query.append_pair(
                    "auth",
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header),
                );
            }
        }
    }
    url
}

/// `GET /<topic>/json?poll=1&id=<poll_id>`: the message a poll_request announces.
pub fn poll_url(base: &Url, topic: &str, poll_id: &str) -> Url {
    let mut url = base.clone();
    let path = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/ws")
        .to_string();
    let prefix = path
        .rsplit_once('/')
        .map_or("", |(prefix, _topics)| prefix)
        .to_string();
    url.set_path(&format!("{prefix}/{topic}/json"));
    url.set_query(None);
    url.query_pairs_mut()
        .append_pair("poll", "1")
        .append_pair("id", poll_id);
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn an_update_names_the_message_it_updates() {
        let update = r#"{"id":"b2","sequence_id":"a1","time":1700000000,"event":"message","topic":"t","message":"75 %"}"#;
        let first =
            r#"{"id":"a1","time":1700000000,"event":"message","topic":"t","message":"50 %"}"#;
        let same = r#"{"id":"a1","sequence_id":"a1","time":1700000000,"event":"message","topic":"t","message":"x"}"#;
        let updates = |text: &str| match parse(text) {
            Ok(Parsed::Messages(messages)) => messages[0].updates.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(updates(update).as_deref(), Some("a1"));
        assert_eq!(updates(first), None);
        assert_eq!(
            updates(same),
            None,
            "a sequence id equal to the id is the message itself"
        );
    }

    #[test]
    fn parses_a_full_message_event() {
        let frame = r#"{"id":"sPs71M8A2T","time":1700000000,"expires":1700043200,"event":"message","topic":"alerts",
            "title":"Disk full","message":"**/var** is at 99%","priority":5,"tags":["warning","skull"],
            "click":"https://grafana.example.com/d/1","icon":"https://example.com/i.png",
            "actions":[{"action":"view","label":"Open","url":"https://example.com"}],
            "attachment":{"name":"log.txt","type":"text/plain","size":120,"expires":1700050000,"url":"https://example.com/f/log.txt"},
            "content_type":"text/markdown"}"#;
        let Parsed::Messages(messages) = parse(frame).expect("valid frame") else {
            panic!("a message event yields a message")
        };
        let message = &messages[0];
        assert_eq!(message.remote_id, "sPs71M8A2T");
        assert_eq!(message.sent_at, 1_700_000_000_000);
        assert_eq!(message.expires_at, Some(1_700_043_200_000));
        assert_eq!(message.priority, Priority::URGENT);
        assert_eq!(message.format, BodyFormat::Markdown);
        assert_eq!(message.tags, ["warning", "skull"]);
        assert!(message.actions.is_some() && message.attachment.is_some());
    }

    #[test]
    fn unset_priority_is_default_and_other_events_are_liveness() {
        let Parsed::Messages(messages) =
            parse(r#"{"id":"a","time":1,"event":"message","topic":"t","message":"hi"}"#)
                .expect("valid frame")
        else {
            panic!("message expected")
        };
        assert_eq!(messages[0].priority, Priority::DEFAULT);
        assert_eq!(messages[0].raw_priority, None);
        assert!(matches!(
            parse(r#"{"id":"x","time":1,"event":"keepalive","topic":"t"}"#),
            Ok(Parsed::Keepalive)
        ));
        assert!(matches!(
            parse(r#"{"id":"x","time":1,"event":"message_delete"}"#),
            Ok(Parsed::Keepalive)
        ));
        assert!(matches!(
            parse(r#"{"id":"p1","time":1,"event":"poll_request","topic":"t","poll_id":"m9"}"#),
            Ok(Parsed::Poll { poll_id, .. }) if poll_id == "m9"
        ));
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"event":"message","time":1}"#,
            r#"{"id":"a","event":"message"}"#,
            "\u{0}\u{1}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn connect_url_resumes_and_carries_auth() {
        let base = Url::parse("wss://ntfy.example.com/alerts,backups/ws?x=1").expect("url");
        let credentials = Credentials {
            username: Some("phil".into()),
            password: Some(Secret::new("mypass")),
            ..Credentials::default()
        };
        let first = connect_url(&base, None, &credentials, AuthPlacement::Header);
        assert_eq!(
            first.as_str(),
            "wss://ntfy.example.com/alerts,backups/ws?x=1&since=all"
        );
        let cursor = Cursor {
            last_id: "abc".into(),
            last_time: 0,
        };
        let resumed = connect_url(&first, Some(&cursor), &credentials, AuthPlacement::Query);
        assert_eq!(
            resumed.as_str(),
            "wss://ntfy.example.com/alerts,backups/ws?x=1&since=abc&auth=QmFzaWMgY0docGJEcHRlWEJoYzNNPQ"
        );
        assert_eq!(
            authorization(&credentials).as_deref(),
            Some("Basic cGhpbDpteXBhc3M=")
        );
        let token = Credentials {
            token: Some(Secret::new("tk_1")),
            ..Credentials::default()
        };
        assert_eq!(authorization(&token).as_deref(), Some("Bearer tk_1"));
    }

    #[test]
    fn poll_url_points_at_the_topic_json_endpoint() {
        let base = Url::parse("wss://host/ntfy/alerts,backups/ws?since=x").expect("url");
        assert_eq!(
            poll_url(&base, "backups", "m1").as_str(),
            "wss://host/ntfy/backups/json?poll=1&id=m1"
        );
    }
}
