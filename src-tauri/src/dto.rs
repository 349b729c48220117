//! The types that cross into the UI. They are converted from the core's
//! types here, at the boundary, so the core never shapes itself for the UI,
//! and the UI's TypeScript types are generated from these (ts-rs) into
//! `ui/src/bindings/`, never written by hand. `bindings_are_current` fails
//! when the committed files drift; `HERALD_UPDATE_BINDINGS=1 cargo test -p
//! herald bindings` rewrites them.

use herald_core::model::{BodyFormat, Message, MessageId, Protocol, SourceId};
use herald_core::render;
use herald_core::search_text::Snippet;
use herald_core::store::{MessageFilter, SearchHit, SourceStats, View};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod routing;
pub use routing::*;

/// Which part of the inbox a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum InboxView {
    #[default]
    Inbox,
    Unread,
    Starred,
    Archived,
    All,
}

/// What the message list asks for. Page on with `before` = the last row's id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct ListQuery {
    pub view: InboxView,
    #[ts(type = "number | null")]
    pub source: Option<i64>,
    pub min_priority: Option<u8>,
    pub tag: Option<String>,
    /// Full-text search; results are newest first like the list.
    pub search: Option<String>,
    #[ts(type = "number | null")]
    pub before: Option<i64>,
    pub limit: Option<u32>,
}

impl ListQuery {
    pub fn filter(&self) -> MessageFilter {
        let view = match self.view {
            InboxView::Inbox => View::Inbox,
            InboxView::Unread => View::Unread,
            InboxView::Starred => View::Starred,
            InboxView::Archived => View::Archived,
            InboxView::All => View::All,
        };
        MessageFilter {
            view,
            source: self.source.map(SourceId),
            min_priority: self
                .min_priority
                .map(|priority| herald_core::model::Priority::clamped(i64::from(priority))),
            tag: self.tag.clone().filter(|tag| !tag.is_empty()),
            before: self.before.map(MessageId),
            ..MessageFilter::default()
        }
    }

    /// At most 500 rows a page, 100 by default.
    pub fn limit(&self) -> usize {
        self.limit.map_or(100, |limit| limit.clamp(1, 500) as usize)
    }
}

/// Highlighted text: `[start, end)` character ranges into `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Highlighted {
    pub text: String,
    pub ranges: Vec<(u32, u32)>,
}

impl From<Snippet> for Highlighted {
    fn from(snippet: Snippet) -> Self {
        Highlighted {
            // Replaces one character for one, so the ranges still fit.
            text: render::display_safe(&snippet.text),
            ranges: snippet
                .highlights
                .into_iter()
                .map(|(start, end)| (start as u32, end as u32))
                .collect(),
        }
    }
}

/// A tag with its emoji when it is an ntfy short code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TagView {
    pub name: String,
    pub emoji: Option<String>,
}

fn tag_views(tags: &[String]) -> Vec<TagView> {
    tags.iter()
        .map(|tag| TagView {
            name: render::display_safe(tag),
            emoji: render::tag_emoji(tag).map(str::to_string),
        })
        .collect()
}

/// One row of the message list: small, so 100,000 rows page quickly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageRow {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub source_id: i64,
    pub source_name: String,
    pub title: String,
    /// Plain text, markdown removed, at most 160 characters.
    pub preview: String,
    pub priority: u8,
    pub tags: Vec<TagView>,
    #[ts(type = "number")]
    pub sent_at: i64,
    pub read: bool,
    pub starred: bool,
    pub archived: bool,
    #[ts(type = "number | null")]
    pub snoozed_until: Option<i64>,
    /// Search results only: the title and an excerpt with the matches marked.
    pub title_match: Option<Highlighted>,
    pub body_match: Option<Highlighted>,
}

impl MessageRow {
    pub fn from_message(message: &Message) -> MessageRow {
        MessageRow {
            id: message.id.0,
            source_id: message.source_id.0,
            source_name: render::display_safe(&message.source_name),
            title: render::display_safe(&message.title),
            preview: render::plain_text(&message.body, message.format, 160),
            priority: message.priority.get(),
            tags: tag_views(&message.tags),
            sent_at: message.sent_at,
            read: message.read,
            starred: message.starred,
            archived: message.archived_at.is_some(),
            snoozed_until: message.snoozed_until,
            title_match: None,
            body_match: None,
        }
    }

    pub fn from_hit(hit: SearchHit) -> MessageRow {
        let mut row = MessageRow::from_message(&hit.message);
        row.title_match = Some(hit.title.into());
        row.body_match = Some(hit.snippet.into());
        row
    }
}

/// A page of the list; `has_more` says whether to ask for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessagePage {
    pub rows: Vec<MessageRow>,
    pub has_more: bool,
}

/// An action button from an ntfy message, checked before it reaches the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ActionView {
    /// "view" opens the URL in the browser; "http" sends a request after confirmation.
    pub kind: String,
    pub label: String,
    pub url: String,
    pub method: Option<String>,
}

/// An attachment; `preview` only when it is an image and the source allows remote images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AttachmentView {
    pub name: String,
    pub mime: Option<String>,
    #[ts(type = "number | null")]
    pub size: Option<i64>,
    pub url: String,
    pub preview: bool,
}

/// Everything the detail pane shows. `body_html` is sanitised in Rust.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MessageDetail {
    pub row: MessageRow,
    pub topic: Option<String>,
    pub body_html: String,
    pub body_text: String,
    /// The body is longer than what is shown (the store keeps all of it).
    pub body_truncated: bool,
    pub markdown: bool,
    pub click: Option<String>,
    pub actions: Vec<ActionView>,
    pub attachment: Option<AttachmentView>,
    #[ts(type = "number")]
    pub received_at: i64,
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
}

/// Only http, https and mailto links ever reach the UI or the browser.
pub fn safe_link(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https" | "mailto").then(|| parsed.to_string())
}

impl MessageDetail {
    pub fn from_message(message: &Message, allow_images: bool) -> MessageDetail {
        let actions = message
            .actions
            .as_ref()
            .and_then(serde_json::Value::as_array)
            .map(|actions| actions.iter().filter_map(action_view).collect())
            .unwrap_or_default();
        let attachment = message.attachment.as_ref().and_then(|attachment| {
            let url = safe_link(attachment.get("url")?.as_str()?)?;
            let mime = attachment
                .get("type")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string);
            let is_image = mime
                .as_deref()
                .is_some_and(|mime| mime.starts_with("image/"));
            Some(AttachmentView {
                name: render::display_safe(
                    attachment
                        .get("name")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("attachment"),
                ),
                size: attachment.get("size").and_then(serde_json::Value::as_i64),
                mime,
                preview: is_image && allow_images && url.starts_with("https://"),
                url,
            })
        });
        MessageDetail {
            row: MessageRow::from_message(message),
            topic: message.topic.as_deref().map(render::display_safe),
            body_html: render::body_html(&message.body, message.format, allow_images),
            body_text: render::plain_text(
                &message.body,
                message.format,
                render::MAX_RENDERED_CHARS,
            ),
            body_truncated: render::is_cut(&message.body),
            markdown: message.format == BodyFormat::Markdown,
            click: message.click.as_deref().and_then(safe_link),
            actions,
            attachment,
            received_at: message.received_at,
            expires_at: message.expires_at,
        }
    }
}

fn action_view(action: &serde_json::Value) -> Option<ActionView> {
    let kind = action.get("action")?.as_str()?;
    if kind != "view" && kind != "http" {
        return None;
    }
    Some(ActionView {
        kind: kind.to_string(),
        label: render::display_safe(
            &action
                .get("label")
                .and_then(serde_json::Value::as_str)
                .unwrap_or(kind)
                .chars()
                .take(40)
                .collect::<String>(),
        ),
        url: safe_link(action.get("url")?.as_str()?)?,
        method: action
            .get("method")
            .and_then(serde_json::Value::as_str)
            .map(str::to_ascii_uppercase),
    })
}

/// A source in the sidebar and the admin list, with live status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SourceView {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub protocol: String,
    pub enabled: bool,
    pub state: String,
    #[ts(type = "number | null")]
    pub retry_at: Option<i64>,
    pub last_error: Option<String>,
    #[ts(type = "number")]
    pub unread: u64,
    #[ts(type = "number")]
    pub stored: u64,
    #[ts(type = "number")]
    pub frames_rejected: u64,
    #[ts(type = "number")]
    pub frames_malformed: u64,
    /// Messages routing rules dropped.
    #[ts(type = "number")]
    pub messages_dropped: u64,
}

impl From<&SourceStats> for SourceView {
    fn from(stats: &SourceStats) -> Self {
        SourceView {
            id: stats.id.0,
            name: render::display_safe(&stats.name),
            protocol: stats.protocol.clone(),
            enabled: stats.enabled,
            state: if stats.enabled {
                stats.state.clone()
            } else {
                "disabled".into()
            },
            retry_at: stats.retry_at,
            last_error: stats.last_error.as_deref().map(render::display_safe),
            unread: stats.unread,
            stored: stats.stored,
            frames_rejected: stats.frames_rejected,
            frames_malformed: stats.frames_malformed,
            messages_dropped: stats.messages_dropped,
        }
    }
}

/// The protocols a source can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolView {
    Ntfy,
    Gotify,
    Json,
    Stomp,
    Mqtt,
    /// The local publish API; managed in the settings, not the source form.
    Local,
}

impl From<Protocol> for ProtocolView {
    fn from(protocol: Protocol) -> Self {
        match protocol {
            Protocol::Ntfy => ProtocolView::Ntfy,
            Protocol::Gotify => ProtocolView::Gotify,
            Protocol::Json => ProtocolView::Json,
            Protocol::Stomp => ProtocolView::Stomp,
            Protocol::Mqtt => ProtocolView::Mqtt,
            Protocol::Local => ProtocolView::Local,
        }
    }
}

impl From<ProtocolView> for Protocol {
    fn from(protocol: ProtocolView) -> Self {
        match protocol {
            ProtocolView::Ntfy => Protocol::Ntfy,
            ProtocolView::Gotify => Protocol::Gotify,
            ProtocolView::Json => Protocol::Json,
            ProtocolView::Stomp => Protocol::Stomp,
            ProtocolView::Mqtt => Protocol::Mqtt,
            ProtocolView::Local => Protocol::Local,
        }
    }
}

/// An extra header. Values may be keys, so they are write-only like other
/// secrets: the form receives `value: null` for a stored header, and sending
/// `null` back keeps the stored value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct HeaderInput {
    pub name: String,
    pub value: Option<String>,
}

/// What the form sends about credentials. They never travel the other way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CredentialsInput {
    /// Leave the stored credentials as they are (editing).
    Keep,
    /// No credentials (or remove the stored ones).
    None,
    /// An access token: ntfy `tk_…`, a Gotify client token, a Bearer token.
    Token { token: String },
    /// ntfy username and password.
    Basic { username: String, password: String },
}

/// JSON Pointers from a JSON feed's objects to message fields; an empty
/// string leaves the field unmapped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct FieldMapInput {
    pub id: String,
    pub title: String,
    pub body: String,
    pub priority: String,
    pub time: String,
    pub tags: String,
    pub url: String,
    pub group: String,
}

/// A source as the add/edit form sends it; `id` is null when adding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SourceInput {
    #[ts(type = "number | null")]
    pub id: Option<i64>,
    pub name: String,
    pub protocol: ProtocolView,
    pub url: String,
    pub enabled: bool,
    /// Credentials in the URL (ntfy `?auth=`, Gotify `?token=`) instead of a header.
    pub auth_in_query: bool,
    pub headers: Vec<HeaderInput>,
    /// JSON sources only.
    pub map: FieldMapInput,
    /// JSON sources only: sent after connecting; empty for none.
    pub subscribe_frame: String,
    /// JSON sources only: URL used when resuming; empty for none.
    pub resume_url: String,
    /// JSON sources only: take text frames that are not JSON as bodies.
    pub text_frames: bool,
    /// A PEM file of extra certificate authorities; empty for none.
    pub ca_file: String,
    pub read_timeout_secs: u32,
    pub max_frame_bytes: u32,
    pub credentials: CredentialsInput,
    /// STOMP destinations or MQTT topic filters (brokers only).
    pub subscriptions: Vec<String>,
    /// STOMP `host` header (RabbitMQ's virtual host); empty for the default.
    pub virtual_host: String,
    /// MQTT client id, which also names STOMP durable subscriptions; empty
    /// makes one up when the source is saved.
    pub client_id: String,
    /// MQTT quality of service asked for: 0 (at most once) or 1 (at least once).
    pub qos: u8,
    /// Keep the subscription while Herald is off (STOMP durable
    /// subscription, MQTT persistent session), so nothing is missed.
    pub durable: bool,
    /// A message header (STOMP) whose value identifies a message, so a
    /// redelivery is recognised; empty for the default (`amqp-message-id`).
    pub id_header: String,
    /// The user confirmed sending the credentials over plain ws:// or
    /// http:// to another machine (a save is refused without it).
    #[serde(default)]
    pub allow_plain_credentials: bool,
}

/// What kind of credentials a source has stored (never their values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum StoredCredentials {
    None,
    Token,
    Basic,
}

/// A stored source for the edit form: its settings with `credentials: keep`
/// and header values withheld, and what is stored where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SourceSettings {
    pub input: SourceInput,
    pub stored_credentials: StoredCredentials,
    /// Shown so the user knows which account is used; passwords never are.
    pub username: Option<String>,
    /// "none", "keyring" or "database".
    pub secret_store: String,
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ProbeView {
    pub connected: bool,
    pub auth_failed: bool,
    #[ts(type = "number | null")]
    pub connect_ms: Option<u64>,
    #[ts(type = "number")]
    pub frames: u64,
    #[ts(type = "number")]
    pub messages: u64,
    #[ts(type = "number")]
    pub malformed: u64,
    pub first_message: Option<String>,
    pub error: Option<String>,
    /// How long it listened after connecting, in seconds.
    pub listened_secs: u32,
}

/// The language setting: what the user chose and what that means now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LanguageView {
    /// `system`, `en` or `zh-CN`.
    pub choice: String,
    /// The language text is in now: `en` or `zh-CN` (the OS locale's for `system`).
    pub language: String,
}

/// The settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SettingsView {
    /// Delete messages older than this many days (starred ones stay); null keeps them.
    pub max_age_days: Option<u32>,
    /// Keep at most this many messages per source; null for no limit.
    pub max_per_source: Option<u32>,
    /// Herald starts when the user logs in.
    pub autostart: bool,
    /// Where the database lives, for backups.
    pub data_dir: String,
    /// Where exports are written.
    pub export_dir: String,
}

/// The local publish API, as the settings show it. The token is never
/// sent back: it is shown once, when it is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PublishApiView {
    pub enabled: bool,
    pub port: u16,
    /// Where scripts post, e.g. `http://127.0.0.1:8765/publish/<topic>`.
    pub url: String,
    /// The source its messages are filed under, once it exists.
    #[ts(type = "number | null")]
    pub source_id: Option<i64>,
    /// The source's state: `connected` while listening, `retrying` when the port is taken, ….
    pub state: String,
    pub last_error: Option<String>,
}

/// What the settings send to turn the API on or off or move its port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PublishApiInput {
    pub enabled: bool,
    pub port: u16,
}

/// The API after a change, with the token when one was just made (the
/// first time it is turned on, or on regeneration): the only time it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PublishApiChange {
    pub api: PublishApiView,
    pub new_token: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExportView {
    pub path: String,
    #[ts(type = "number")]
    pub messages: u64,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ImportView {
    #[ts(type = "number")]
    pub imported: u64,
    #[ts(type = "number")]
    pub duplicates: u64,
    /// Sources created (disabled) for names the file had and Herald did not.
    pub sources_created: Vec<String>,
}

/// What the window is told, coalesced: a burst of 10,000 messages becomes a
/// handful of `messages_added` events, not 10,000. Emitted as `herald://event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UiEvent {
    /// New messages were stored since the last event.
    MessagesAdded {
        count: u32,
        #[ts(type = "Array<number>")]
        sources: Vec<i64>,
    },
    /// A source's connection state changed; reload the sources list.
    SourceStatus {
        #[ts(type = "number")]
        source: i64,
    },
    /// Read/unread counts changed for another reason (another window, the CLI).
    CountsChanged,
    /// A notification was clicked: show this message.
    FocusMessage {
        #[ts(type = "number")]
        id: i64,
    },
    /// Do not disturb, mutes, paused sources or the notifier changed; ask `get_quiet`.
    QuietChanged,
    /// Routing rules changed (here, from the tray, or elsewhere); reload them.
    RulesChanged,
    /// Saving messages started or stopped failing; ask `get_storage`.
    StorageChanged,
}

/// The database's health: whether a damaged file was set aside at start,
/// and why received messages cannot be saved right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StorageView {
    /// The database file in use.
    pub database: String,
    /// Where the damaged database was moved at start, untouched.
    pub set_aside_to: Option<String>,
    /// What SQLite said about the damaged file.
    pub set_aside_reason: Option<String>,
    /// Why writes fail now (the disk is full, …); `None` while they work.
    pub write_trouble: Option<String>,
}

/// An error as the UI receives it: a stable code to branch on and a
/// message to show. Never a stack trace, never raw JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct UiError {
    pub code: String,
    pub message: String,
    /// For a form: the field the message is about (`name`, `url`, …).
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use ts_rs::Config;

    fn bindings_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings")
    }

    /// Each exported type and its generated TypeScript.
    fn generated() -> Vec<(String, String)> {
        let config = Config::default();
        macro_rules! each {
            ($($type:ty),* $(,)?) => {
                vec![$((
                    format!("{}.ts", <$type as TS>::name(&config)),
                    <$type as TS>::export_to_string(&config).expect("bindings generate"),
                )),*]
            };
        }
        each![
            UiEvent,
            InboxView,
            ListQuery,
            Highlighted,
            TagView,
            MessageRow,
            MessagePage,
            ActionView,
            AttachmentView,
            MessageDetail,
            SourceView,
            ProtocolView,
            HeaderInput,
            CredentialsInput,
            FieldMapInput,
            SourceInput,
            StoredCredentials,
            SourceSettings,
            ProbeView,
            SettingsView,
            LanguageView,
            PublishApiView,
            PublishApiInput,
            PublishApiChange,
            ExportView,
            ImportView,
            UiError,
            TextMatchInput,
            TimeWindowInput,
            MatchInput,
            RuleActionInput,
            RuleInput,
            RuleView,
            RulePreview,
            RulePreviewRow,
            DeliveryFailureView,
            PolicyInput,
            PauseInput,
            QuietView,
            StorageView,
        ]
    }

    #[test]
    fn bindings_are_current() {
        let directory = bindings_dir();
        let update = std::env::var("HERALD_UPDATE_BINDINGS").is_ok();
        for (file, text) in generated() {
            let path = directory.join(&file);
            if update {
                std::fs::create_dir_all(&directory).expect("create bindings dir");
                std::fs::write(&path, &text).expect("write binding");
                continue;
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(
                committed, text,
                "ui/src/bindings/{file} is out of date; regenerate with `HERALD_UPDATE_BINDINGS=1 cargo test -p herald bindings`"
            );
        }
    }

    #[test]
    fn only_safe_links_pass() {
        assert_eq!(
            safe_link("https://example.com/a").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            safe_link("mailto:ops@example.com").as_deref(),
            Some("mailto:ops@example.com")
        );
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "ftp://x/y",
            "not a url",
            " JAVASCRIPT:alert(1)",
        ] {
            assert_eq!(safe_link(bad), None, "{bad} must not pass");
        }
    }

    #[test]
    fn actions_keep_only_view_and_http_with_safe_urls() {
        let actions = serde_json::json!([
            {"action": "view", "label": "Open", "url": "https://example.com"},
            {"action": "http", "label": "Ack", "url": "https://api.example.com/ack", "method": "post"},
            {"action": "view", "label": "Evil", "url": "javascript:alert(1)"},
            {"action": "broadcast", "label": "Android only"}
        ]);
        let views: Vec<ActionView> = actions
            .as_array()
            .expect("array")
            .iter()
            .filter_map(action_view)
            .collect();
        assert_eq!(views.len(), 2, "{views:?}");
        assert_eq!(views[1].method.as_deref(), Some("POST"));
    }
}
