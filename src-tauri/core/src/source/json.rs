//! Any WebSocket feed of JSON objects (order systems, IoT alarms, risk
//! monitors, CI). A per-source [`FieldMap`] of JSON Pointers says where each
//! field is. A frame may hold one object or an array of them; text frames
//! that are not JSON become plain bodies when the source allows it.

use serde_json::Value;
use url::Url;

use super::{ParseError, Parsed};
use crate::config::FieldMap;
use crate::i18n::text;
use crate::model::{Cursor, NewMessage, Priority};

/// Parses one frame. `now` (Unix ms) stands in for a missing time.
pub fn parse(
    frame: &str,
    map: &FieldMap,
    text_frames: bool,
    now: i64,
) -> Result<Parsed, ParseError> {
    let value: Value = match serde_json::from_str(frame) {
        Ok(value) => value,
        Err(error) if text_frames => {
            let _ = error;
            return Ok(Parsed::Messages(vec![plain_text(frame, now)]));
        }
        Err(error) => {
            let error = error.to_string();
            return Err(ParseError(text("frame.not_json", &[("error", &error)])));
        }
    };
    match value {
        Value::Object(_) => Ok(Parsed::Messages(vec![from_object(&value, map, now)?])),
        Value::Array(items) => {
            let messages = items
                .iter()
                .filter(|item| item.is_object())
                .map(|item| from_object(item, map, now))
                .collect::<Result<Vec<_>, _>>()?;
            if messages.is_empty() {
                return Err(ParseError(text("frame.json_array_empty", &[])));
            }
            Ok(Parsed::Messages(messages))
        }
        other if text_frames => Ok(Parsed::Messages(vec![plain_text(&other.to_string(), now)])),
        _ => Err(ParseError(text("frame.json_not_object", &[]))),
    }
}

fn plain_text(text: &str, now: i64) -> NewMessage {
    // Plain text has no id and cannot be replayed, so identical texts sent
    // at different times must stay distinct: the id includes the arrival time.
    NewMessage {
        remote_id: format!("text:{now}:{:016x}", fnv1a(text.as_bytes())),
        sent_at: now,
        body: text.to_string(),
        ..NewMessage::default()
    }
}

fn from_object(object: &Value, map: &FieldMap, now: i64) -> Result<NewMessage, ParseError> {
    let field = |pointer: &Option<String>| {
        pointer
            .as_deref()
            .and_then(|pointer| object.pointer(pointer))
            .filter(|value| !value.is_null())
    };
    let text_at = |pointer: &Option<String>| field(pointer).map(value_text);
    // Without an id, the content is the id: a replayed frame dedups, while
    // frames that differ in anything (a timestamp, a value) stay distinct.
    let remote_id = text_at(&map.id)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("hash:{:016x}", fnv1a(object.to_string().as_bytes())));
    let sent_at = match field(&map.time) {
        Some(value) => parse_time(value)
            .ok_or_else(|| ParseError(text("frame.bad_time", &[("value", &value.to_string())])))?,
        None => now,
    };
    let priority = match field(&map.priority) {
        Some(Value::Number(number)) => number.as_i64().map(Priority::clamped),
        Some(Value::String(name)) => Priority::from_name(name),
        _ => None,
    };
    let tags = match field(&map.tags) {
        Some(Value::Array(items)) => items
            .iter()
            .map(value_text)
            .filter(|tag| !tag.is_empty())
            .collect(),
        Some(Value::String(list)) => list
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let title = text_at(&map.title).unwrap_or_default();
    let body = text_at(&map.body).unwrap_or_default();
    if title.is_empty() && body.is_empty() {
        let unmapped = text("frame.unmapped", &[]);
        return Err(ParseError(text(
            "frame.no_title_or_body",
            &[
                ("title", map.title.as_deref().unwrap_or(&unmapped)),
                ("body", map.body.as_deref().unwrap_or(&unmapped)),
            ],
        )));
    }
    Ok(NewMessage {
        remote_id,
        sent_at,
        title,
        body,
        priority: priority.unwrap_or_default(),
        raw_priority: field(&map.priority).and_then(Value::as_i64),
        tags,
        click: text_at(&map.url).filter(|url| !url.is_empty()),
        group_key: text_at(&map.group).filter(|group| !group.is_empty()),
        extras: Some(object.clone()),
        ..NewMessage::default()
    })
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Unix seconds, Unix milliseconds (told apart by size) or RFC 3339.
fn parse_time(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => {
            let raw = number.as_f64()?;
            Some(if raw.abs() >= 1e11 {
                raw as i64
            } else {
                (raw * 1000.0) as i64
            })
        }
        Value::String(text) => {
            if let Ok(number) = text.trim().parse::<f64>() {
                return parse_time(&serde_json::json!(number));
            }
            time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
                .ok()
                .map(|date| (date.unix_timestamp_nanos() / 1_000_000) as i64)
        }
        _ => None,
    }
}

/// The URL to connect to: the resume template with the cursor filled in
/// when there is both, otherwise the plain URL.
pub fn connect_url(
    base: &Url,
    resume_template: Option<&str>,
    cursor: Option<&Cursor>,
) -> Result<Url, ParseError> {
    let (Some(template), Some(cursor)) = (resume_template, cursor) else {
        return Ok(base.clone());
    };
    let encode =
        |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let filled = template
        .replace("{last_id}", &encode(&cursor.last_id))
        .replace("{last_time_ms}", &cursor.last_time.to_string())
        .replace("{last_time}", &(cursor.last_time / 1000).to_string());
    Url::parse(&filled).map_err(|error| {
        ParseError(text(
            "frame.resume_url_invalid",
            &[
                ("url", &format!("{filled:?}")),
                ("error", &error.to_string()),
            ],
        ))
    })
}

/// FNV-1a: a stable hash, so content ids stay the same across versions.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(parsed: Result<Parsed, ParseError>) -> NewMessage {
        match parsed.expect("frame parses") {
            Parsed::Messages(mut messages) if messages.len() == 1 => messages.remove(0),
            _ => panic!("exactly one message expected"),
        }
    }

    #[test]
    fn maps_nested_fields_by_pointer() {
        let mut map = FieldMap::default();
        for assignment in [
            "id=/order/id",
            "title=/summary",
            "body=/detail/text",
            "priority=/level",
            "time=/ts",
            "tags=/labels",
            "url=/link",
            "group=/shop",
        ] {
            map.set(assignment).expect("valid mapping");
        }
        let frame = r#"{"order":{"id":9912},"summary":"订单 9912 已支付","detail":{"text":"¥ 320.00"},"level":"high",
                        "ts":"2026-03-01T08:00:00Z","labels":"paid, vip","link":"https://shop.example.com/o/9912","shop":"north"}"#;
        let message = only(parse(frame, &map, false, 0));
        assert_eq!(message.remote_id, "9912");
        assert_eq!(message.title, "订单 9912 已支付");
        assert_eq!(message.body, "¥ 320.00");
        assert_eq!(message.priority, Priority::HIGH);
        assert_eq!(message.sent_at, 1_772_352_000_000);
        assert_eq!(message.tags, ["paid", "vip"]);
        assert_eq!(message.group_key.as_deref(), Some("north"));
    }

    #[test]
    fn missing_ids_hash_the_content_and_times_default_to_now() {
        let map = FieldMap::default();
        let first = only(parse(r#"{"title":"t","message":"m"}"#, &map, false, 5_000));
        let again = only(parse(r#"{"title":"t","message":"m"}"#, &map, false, 9_000));
        let other = only(parse(r#"{"title":"t","message":"n"}"#, &map, false, 5_000));
        assert_eq!(first.remote_id, again.remote_id, "a replayed frame dedups");
        assert_ne!(first.remote_id, other.remote_id);
        assert_eq!(first.sent_at, 5_000);
    }

    #[test]
    fn seconds_and_milliseconds_are_told_apart() {
        assert_eq!(
            parse_time(&serde_json::json!(1_700_000_000)),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_time(&serde_json::json!(1_700_000_000_123_i64)),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_time(&serde_json::json!("1700000000.5")),
            Some(1_700_000_000_500)
        );
        assert_eq!(parse_time(&serde_json::json!("soon")), None);
    }

    #[test]
    fn arrays_text_frames_and_garbage() {
        let map = FieldMap::default();
        let Ok(Parsed::Messages(many)) = parse(
            r#"[{"id":1,"title":"a"},{"id":2,"title":"b"},7]"#,
            &map,
            false,
            0,
        ) else {
            panic!("array of objects expected")
        };
        assert_eq!(many.len(), 2);
        assert!(
            parse("plain words", &map, false, 0).is_err(),
            "text is rejected unless allowed"
        );
        let text = only(parse("Backup finished", &map, true, 42));
        assert_eq!((text.body.as_str(), text.sent_at), ("Backup finished", 42));
        assert!(
            parse(r#"{"unrelated":true}"#, &map, false, 0).is_err(),
            "nothing to show is an error"
        );
        assert!(parse("[]", &map, false, 0).is_err());
    }

    #[test]
    fn resume_template_fills_the_cursor() {
        let base = Url::parse("wss://feed.example.com/v1").expect("url");
        let cursor = Cursor {
            last_id: "a b&c".into(),
            last_time: 1_700_000_000_999,
        };
        let url = connect_url(
            &base,
            Some("wss://feed.example.com/v1?after={last_id}&t={last_time}"),
            Some(&cursor),
        )
        .expect("valid template");
        assert_eq!(
            url.as_str(),
            "wss://feed.example.com/v1?after=a+b%26c&t=1700000000"
        );
        assert_eq!(
            connect_url(&base, Some("wss://x/{last_id}"), None)
                .expect("no cursor")
                .as_str(),
            base.as_str()
        );
    }
}
