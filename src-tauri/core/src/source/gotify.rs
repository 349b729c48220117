//! Gotify: `ws(s)://host/stream` pushes bare message objects. The socket
//! never replays, so after any gap Herald pages the REST API
//! (`GET /message?limit=200&since=<id>`, which pages *backward*: ids lower
//! than `since`) until it reaches the stored cursor.

use serde::Deserialize;
use url::Url;

use super::{ParseError, Parsed};
use crate::config::{AuthPlacement, Credentials};
use crate::i18n::text;
use crate::model::{BodyFormat, NewMessage, Priority};

#[derive(Debug, Deserialize)]
pub(super) struct Message {
    id: u64,
    #[serde(default)]
    appid: Option<u64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    extras: Option<serde_json::Value>,
}

/// One page of `GET /message`.
#[derive(Debug, Deserialize)]
pub(super) struct Page {
    pub messages: Vec<Message>,
    #[serde(default)]
    pub paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Paging {
    #[serde(default)]
    pub since: Option<u64>,
}

impl Message {
    pub fn id(&self) -> u64 {
        self.id
    }
}

/// Parses one frame of the stream.
pub fn parse(frame: &str) -> Result<Parsed, ParseError> {
    let message: Message = serde_json::from_str(frame).map_err(|error| {
        ParseError(text(
            "frame.not_gotify_message",
            &[("error", &error.to_string())],
        ))
    })?;
    Ok(Parsed::Messages(vec![convert(message)?]))
}

pub(super) fn convert(message: Message) -> Result<NewMessage, ParseError> {
    let id = message.id.to_string();
    let sent_at = match &message.date {
        Some(date) => {
            time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
                .map(|date| (date.unix_timestamp_nanos() / 1_000_000) as i64)
                .map_err(|error| {
                    ParseError(text(
                        "frame.bad_date",
                        &[
                            ("id", &id),
                            ("date", &format!("{date:?}")),
                            ("error", &error.to_string()),
                        ],
                    ))
                })?
        }
        None => return Err(ParseError(text("frame.no_date", &[("id", &id)]))),
    };
    let extras = message.extras.filter(|extras| extras.is_object());
    let lookup = |pointer: &str| -> Option<String> {
        extras
            .as_ref()
            .and_then(|extras| extras.pointer(pointer))
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let format = if lookup("/client::display/contentType").as_deref() == Some("text/markdown") {
        BodyFormat::Markdown
    } else {
        BodyFormat::Text
    };
    let click = lookup("/client::notification/click/url");
    let attachment = lookup("/client::notification/bigImageUrl")
        .map(|url| serde_json::json!({ "url": url, "type": "image/*", "name": "image" }));
    Ok(NewMessage {
        remote_id: id,
        sent_at,
        expires_at: None,
        topic: message.appid.map(|appid| format!("app {appid}")),
        title: message.title.unwrap_or_default(),
        body: message.message,
        format,
        priority: message
            .priority
            .map(Priority::from_gotify)
            .unwrap_or(Priority::DEFAULT),
        raw_priority: message.priority,
        tags: Vec::new(),
        click,
        icon: None,
        actions: None,
        attachment,
        group_key: None,
        extras,
        updates: None,
    })
}

/// The stream URL, with `?token=` when the token goes in the query.
pub fn connect_url(base: &Url, credentials: &Credentials, placement: AuthPlacement) -> Url {
    with_token(base.clone(), credentials, placement)
}

/// Headers carrying the client token.
pub fn auth_headers(credentials: &Credentials, placement: AuthPlacement) -> Vec<(String, String)> {
    match (&credentials.token, placement) {
        (Some(token), AuthPlacement::Header) => {
            vec![("X-Gotify-Key".into(), token.expose().to_string())]
        }
        _ => Vec::new(),
    }
}

/// `GET /message?limit=200[&since=<id>]` next to the stream URL.
pub fn page_url(
    stream_url: &Url,
    since: Option<u64>,
    credentials: &Credentials,
    placement: AuthPlacement,
) -> Url {
    let mut url = stream_url.clone();
    let prefix = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/stream")
        .to_string();
    url.set_path(&format!("{prefix}/message"));
    url.set_query(None);
    url.query_pairs_mut().append_pair("limit", "200");
    if let Some(since) = since {
        url.query_pairs_mut()
            .append_pair("since", &since.to_string());
    }
    with_token(url, credentials, placement)
}

fn with_token(mut url: Url, credentials: &Credentials, placement: AuthPlacement) -> Url {
    if let (Some(token), AuthPlacement::Query) = (&credentials.token, placement) {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(key, _)| key != "token")
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut query = url.query_pairs_mut();
        query.clear();
        for (key, value) in &kept {
            query.append_pair(key, value);
        }
        query.append_pair("token", token.expose());
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn parses_a_message_with_extras() {
        let frame = r#"{"id":25,"appid":5,"message":"**Backup** failed","title":"Backup","priority":8,
            "date":"2024-01-02T03:04:05.500+01:00",
            "extras":{"client::display":{"contentType":"text/markdown"},
                      "client::notification":{"click":{"url":"https://ci.example.com/1"},"bigImageUrl":"https://example.com/a.png"}}}"#;
        let Parsed::Messages(messages) = parse(frame).expect("valid frame") else {
            panic!("message expected")
        };
        let message = &messages[0];
        assert_eq!(message.remote_id, "25");
        assert_eq!(message.sent_at, 1_704_161_045_500);
        assert_eq!(message.priority, Priority::HIGH);
        assert_eq!(message.raw_priority, Some(8));
        assert_eq!(message.format, BodyFormat::Markdown);
        assert_eq!(message.click.as_deref(), Some("https://ci.example.com/1"));
        assert!(message.attachment.is_some());
    }

    #[test]
    fn bad_frames_are_errors() {
        for bad in [
            "{}",
            r#"{"id":"x"}"#,
            r#"{"id":1,"message":"m"}"#,
            r#"{"id":1,"date":"yesterday"}"#,
            "null",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn urls_carry_the_token_where_configured() {
        let stream = Url::parse("wss://push.example.com/gotify/stream").expect("url");
        let credentials = Credentials {
            token: Some(Secret::new("C1ient")),
            ..Credentials::default()
        };
        assert_eq!(
            connect_url(&stream, &credentials, AuthPlacement::Query).as_str(),
            "wss://push.example.com/gotify/stream?token=C1ient"
        );
        assert_eq!(
            connect_url(&stream, &credentials, AuthPlacement::Header).as_str(),
            stream.as_str()
        );
        assert_eq!(
            auth_headers(&credentials, AuthPlacement::Header),
            [("X-Gotify-Key".to_string(), "C1ient".to_string())]
        );
        assert_eq!(
            page_url(&stream, Some(90), &credentials, AuthPlacement::Header).as_str(),
            "wss://push.example.com/gotify/message?limit=200&since=90"
        );
    }
}
