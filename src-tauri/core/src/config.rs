//! How a source is configured: its URL, credentials, headers and options,
//! with validation that turns a bad value into an error a person can act on.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::i18n::text;
use crate::model::Protocol;

/// A password or token. `Debug` and `Display` never show it, so it cannot end
/// up in a log line or an error message by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Credentials for a source. At most one of token or username/password is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.token.is_none() && self.username.is_none() && self.password.is_none()
    }
}

/// JSON Pointers (RFC 6901) from a JSON feed's objects to message fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldMap {
    pub id: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub priority: Option<String>,
    pub time: Option<String>,
    pub tags: Option<String>,
    pub url: Option<String>,
    pub group: Option<String>,
}

impl Default for FieldMap {
    /// Common names, so a feed of `{"id", "title", "message", ...}` works unmapped.
    fn default() -> Self {
        FieldMap {
            id: Some("/id".into()),
            title: Some("/title".into()),
            body: Some("/message".into()),
            priority: Some("/priority".into()),
            time: Some("/time".into()),
            tags: Some("/tags".into()),
            url: Some("/url".into()),
            group: Some("/group".into()),
        }
    }
}

impl FieldMap {
    pub const FIELDS: [&'static str; 8] = [
        "id", "title", "body", "priority", "time", "tags", "url", "group",
    ];

    /// Sets one field from `field=/json/pointer`.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let (field, pointer) = assignment.split_once('=').ok_or_else(|| {
            ConfigError(text(
                "field.mapping_shape",
                &[("assignment", &format!("{assignment:?}"))],
            ))
        })?;
        if !(pointer.is_empty() || pointer.starts_with('/')) {
            return Err(ConfigError(text(
                "field.mapping_pointer",
                &[("pointer", &format!("{pointer:?}")), ("field", field)],
            )));
        }
        let pointer = (!pointer.is_empty()).then(|| pointer.to_string());
        let slot = match field.trim() {
            "id" => &mut self.id,
            "title" => &mut self.title,
            "body" | "message" => &mut self.body,
            "priority" => &mut self.priority,
            "time" => &mut self.time,
            "tags" => &mut self.tags,
            "url" | "click" => &mut self.url,
            "group" => &mut self.group,
            other => {
                return Err(ConfigError(text(
                    "field.mapping_unknown_field",
                    &[
                        ("field", &format!("{other:?}")),
                        ("fields", &Self::FIELDS.join(", ")),
                    ],
                )))
            }
        };
        *slot = pointer;
        Ok(())
    }
}

/// How to put credentials on the connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthPlacement {
    /// `Authorization` (ntfy) or `X-Gotify-Key` (Gotify) header.
    #[default]
    Header,
    /// `?auth=` (ntfy) or `?token=` (Gotify), for proxies that drop headers.
    Query,
}

/// Everything about a source except its identity and secrets. Stored as
/// JSON in `sources.config`; unknown fields are ignored and missing ones take
/// their defaults, so older and newer Heralds can share a database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceConfig {
    pub headers: Vec<(String, String)>,
    pub auth: AuthPlacement,
    /// JSON sources: where each message field is in a frame.
    pub map: FieldMap,
    /// JSON sources: a frame to send after connecting (e.g. a subscribe request).
    pub subscribe_frame: Option<String>,
    /// JSON sources: the URL to use when resuming, with `{last_id}`,
    /// `{last_time}` (Unix seconds) or `{last_time_ms}` filled in from the cursor.
    pub resume_url: Option<String>,
    /// JSON sources: take text frames that are not JSON as plain message bodies.
    pub text_frames: bool,
    /// A PEM file of extra certificate authorities to trust, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Reconnect when nothing at all arrives for this long (pings included).
    pub read_timeout_secs: u64,
    /// Frames larger than this are rejected and counted; the connection stays up.
    pub max_frame_bytes: usize,
    /// Brokers: STOMP destinations or MQTT topic filters to subscribe to.
    pub subscriptions: Vec<String>,
    /// STOMP: the `host` header, which RabbitMQ reads as the virtual host.
    pub virtual_host: Option<String>,
    /// MQTT client id; for STOMP it names the durable subscriptions. Made up
    /// once, when the source is saved, so a persistent session survives restarts.
    pub client_id: Option<String>,
    /// MQTT: the quality of service asked for (0 or 1).
    pub qos: u8,
    /// Brokers: keep the subscription while Herald is off (a STOMP durable
    /// subscription, an MQTT persistent session).
    pub durable: bool,
    /// STOMP: the header whose value identifies a message across
    /// redeliveries; `amqp-message-id` (RabbitMQ's AMQP message id) when unset.
    pub id_header: Option<String>,
    /// The user confirmed sending this source's credentials over plain
    /// ws:// (or http://) to a host that is not this machine.
    pub allow_plain_credentials: bool,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            headers: Vec::new(),
            auth: AuthPlacement::Header,
            map: FieldMap::default(),
            subscribe_frame: None,
            resume_url: None,
            text_frames: false,
            ca_file: None,
            read_timeout_secs: 90,
            max_frame_bytes: 1024 * 1024,
            subscriptions: Vec::new(),
            virtual_host: None,
            client_id: None,
            qos: 1,
            durable: false,
            id_header: None,
            allow_plain_credentials: false,
        }
    }
}

/// A configuration problem, worded for the person who made it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Parses `Name: value` into a header pair.
pub fn parse_header(header: &str) -> Result<(String, String), ConfigError> {
    let (name, value) = header.split_once(':').ok_or_else(|| {
        ConfigError(text(
            "field.header_shape",
            &[("header", &format!("{header:?}"))],
        ))
    })?;
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte));
    if !valid_name {
        return Err(ConfigError(text(
            "field.header_name",
            &[("name", &format!("{name:?}"))],
        )));
    }
    let value = value.trim();
    if value
        .bytes()
        .any(|byte| byte == b'\r' || byte == b'\n' || byte == 0)
    {
        return Err(ConfigError(text("field.header_value", &[("name", name)])));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Checks a source's URL for its protocol and normalises it: `http(s)` is
/// accepted and turned into `ws(s)`, and an ntfy or Gotify URL that names only
/// the server gets its WebSocket path.
pub fn normalize_url(protocol: Protocol, input: &str) -> Result<url::Url, ConfigError> {
    if protocol == Protocol::Local {
        return local_url(input);
    }
    let quoted = || format!("{input:?}");
    let mut url = url::Url::parse(input.trim()).map_err(|error| {
        ConfigError(text(
            "field.url_invalid",
            &[("url", &quoted()), ("error", &error.to_string())],
        ))
    })?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(ConfigError(text(
                "field.url_scheme",
                &[("scheme", &format!("{other:?}"))],
            )))
        }
    };
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError(text(
            "field.url_no_host",
            &[("url", &quoted())],
        )));
    }
    if url.scheme() != scheme && url.set_scheme(scheme).is_err() {
        return Err(ConfigError(text(
            "field.url_not_websocket",
            &[("url", &quoted())],
        )));
    }
    match protocol {
        Protocol::Ntfy => {
            let topics_path = url
                .path()
                .trim_end_matches('/')
                .trim_end_matches("/ws")
                .to_string();
            let path = format!("{topics_path}/ws");
            let topic_list = topics_path.rsplit('/').next().unwrap_or_default();
            if topic_list.split(',').any(|topic| topic.trim().is_empty()) {
                return Err(ConfigError(text("field.ntfy_topic", &[])));
            }
            url.set_path(&path);
        }
        Protocol::Gotify => {
            let path = url.path().trim_end_matches('/');
            if !path.ends_with("/stream") {
                url.set_path(&format!("{path}/stream"));
            }
        }
        Protocol::Json | Protocol::Stomp | Protocol::Mqtt | Protocol::Local => {}
    }
    Ok(url)
}

/// The local publish API listens on a loopback address only: its URL is
/// `http://127.0.0.1:PORT` (or `http://[::1]:PORT`).
fn local_url(input: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(input.trim()).map_err(|error| {
        ConfigError(text(
            "field.publish_url_invalid",
            &[
                ("url", &format!("{input:?}")),
                ("error", &error.to_string()),
            ],
        ))
    })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        _ => false,
    };
    if url.scheme() != "http" || !loopback || url.port().is_none() {
        return Err(ConfigError(text("field.publish_loopback", &[])));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let credentials = Credentials {
            token: Some(Secret::new("tk_supersecret")),
            username: Some("ops".into()),
            password: Some(Secret::new("hunter2")),
        };
        let printed = format!("{credentials:?}");
        assert!(
            !printed.contains("tk_supersecret") && !printed.contains("hunter2"),
            "{printed}"
        );
    }

    #[test]
    fn urls_are_checked_and_normalised() {
        let check = |protocol, input: &str, expected: &str| {
            let url = normalize_url(protocol, input).expect("valid url");
            assert_eq!(url.as_str(), expected, "{input}");
        };
        check(
            Protocol::Ntfy,
            "https://ntfy.sh/alerts",
            "wss://ntfy.sh/alerts/ws",
        );
        check(
            Protocol::Ntfy,
            "ws://127.0.0.1:8080/a,b/ws",
            "ws://127.0.0.1:8080/a,b/ws",
        );
        check(
            Protocol::Gotify,
            "http://push.example.com",
            "ws://push.example.com/stream",
        );
        check(
            Protocol::Gotify,
            "wss://push.example.com/gotify/",
            "wss://push.example.com/gotify/stream",
        );
        check(
            Protocol::Json,
            "wss://feed.example.com/v1?x=1",
            "wss://feed.example.com/v1?x=1",
        );
        for bad in ["not a url", "ftp://host/x", "ntfy.sh/alerts"] {
            assert!(
                normalize_url(Protocol::Json, bad).is_err(),
                "{bad} must be rejected"
            );
        }
        assert!(
            normalize_url(Protocol::Ntfy, "https://ntfy.sh/").is_err(),
            "ntfy needs a topic"
        );
    }

    #[test]
    fn headers_and_mappings_are_validated() {
        assert_eq!(
            parse_header("X-Api-Key:  abc ").expect("valid"),
            ("X-Api-Key".into(), "abc".into())
        );
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X: a\r\nInjected: b").is_err());
        let mut map = FieldMap::default();
        map.set("title=/data/subject").expect("valid mapping");
        assert_eq!(map.title.as_deref(), Some("/data/subject"));
        assert!(map.set("title=data").is_err(), "pointer must start with /");
        assert!(map.set("colour=/c").is_err(), "unknown field");
    }
}
