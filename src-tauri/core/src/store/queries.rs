//! Reads and the changes people make to the inbox. Reads take a `&Connection`
//! from the pool; changes take the writer's `&Transaction`. Time comes in as
//! an argument (`now`, Unix ms) so every query is deterministic in tests.

use std::collections::HashMap;

use rusqlite::types::ToSql;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, Transaction};
use serde::{Deserialize, Serialize};

use super::{Item, Named, Result, StoreError};
use crate::config::SourceConfig;
use crate::i18n::text;
use crate::model::{BodyFormat, Cursor, Message, MessageId, Priority, Protocol, SourceId};
use crate::search_text::{build_query, snippet, Snippet};

// ---------------------------------------------------------------- sources

/// Where a source's secrets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretStore {
    None,
    Keyring,
    Database,
}

impl SecretStore {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStore::None => "none",
            SecretStore::Keyring => "keyring",
            SecretStore::Database => "database",
        }
    }

    fn parse(text: &str) -> SecretStore {
        match text {
            "keyring" => SecretStore::Keyring,
            "database" => SecretStore::Database,
            _ => SecretStore::None,
        }
    }
}

/// A configured source, without its secrets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRecord {
    pub id: SourceId,
    pub name: String,
    pub protocol: Protocol,
    pub url: String,
    pub enabled: bool,
    pub config: SourceConfig,
    pub secret_store: SecretStore,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What is needed to add a source.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub name: String,
    pub protocol: Protocol,
    pub url: String,
    pub enabled: bool,
    pub config: SourceConfig,
}

const SOURCE_COLUMNS: &str =
    "id, name, protocol, url, enabled, config, secret_store, created_at, updated_at";

fn source_from_row(row: &Row<'_>) -> rusqlite::Result<SourceRecord> {
    let protocol: String = row.get(2)?;
    let config: String = row.get(5)?;
    let secret_store: String = row.get(6)?;
    Ok(SourceRecord {
        id: SourceId(row.get(0)?),
        name: row.get(1)?,
        protocol: Protocol::parse(&protocol).unwrap_or(Protocol::Json),
        url: row.get(3)?,
        enabled: row.get(4)?,
        // A config this build cannot read falls back to defaults rather than
        // hiding the source; the URL and credentials are still intact.
        config: serde_json::from_str(&config).unwrap_or_default(),
        secret_store: SecretStore::parse(&secret_store),
        created_at: row.get(7)?,
        updated_at: row.get(8)?,
    })
}

/// Sources that have not been removed, in the order they were added.
/// Each source's name by id, for output that names where a message came from.
pub fn source_names(
    connection: &Connection,
) -> Result<std::collections::HashMap<SourceId, String>> {
    Ok(list_sources(connection)?
        .into_iter()
        .map(|source| (source.id, source.name))
        .collect())
}

pub fn list_sources(connection: &Connection) -> Result<Vec<SourceRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SOURCE_COLUMNS} FROM sources WHERE removed_at IS NULL ORDER BY id"
    ))?;
    let sources = statement
        .query_map([], source_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(sources)
}

pub fn get_source(connection: &Connection, id: SourceId) -> Result<SourceRecord> {
    connection
        .query_row(
            &format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE id = ?1 AND removed_at IS NULL"),
            [id.0],
            source_from_row,
        )
        .optional()?
        .ok_or(StoreError::NotFound {
            item: Item::Source,
            id: id.0,
        })
}

pub fn find_source_by_name(connection: &Connection, name: &str) -> Result<Option<SourceRecord>> {
    Ok(connection
        .query_row(
            &format!("SELECT {SOURCE_COLUMNS} FROM sources WHERE name = ?1 AND removed_at IS NULL"),
            [name],
            source_from_row,
        )
        .optional()?)
}

pub fn insert_source(
    transaction: &Transaction<'_>,
    source: &NewSource,
    now: i64,
) -> Result<SourceId> {
    if find_source_by_name(transaction, &source.name)?.is_some() {
        return Err(StoreError::Duplicate {
            item: Named::Source,
            name: source.name.clone(),
        });
    }
    let config = serde_json::to_string(&source.config)
        .map_err(|error| StoreError::Invalid(error.to_string()))?;
    transaction.execute(
        "INSERT INTO sources (name, protocol, url, enabled, config, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![source.name, source.protocol.as_str(), source.url, source.enabled, config, now],
    )?;
    let id = SourceId(transaction.last_insert_rowid());
    transaction.execute(
        "INSERT INTO source_stats (source_id, updated_at) VALUES (?1, ?2)",
        params![id.0, now],
    )?;
    Ok(id)
}

/// Replaces a source's URL and config. Editing clears an `auth_failed` state,
/// since the point of editing is usually to fix the credentials.
pub fn update_source(
    transaction: &Transaction<'_>,
    id: SourceId,
    url: &str,
    config: &SourceConfig,
    now: i64,
) -> Result<()> {
    let config =
        serde_json::to_string(config).map_err(|error| StoreError::Invalid(error.to_string()))?;
    let changed = transaction.execute(
        "UPDATE sources SET url = ?2, config = ?3, updated_at = ?4 WHERE id = ?1 AND removed_at IS NULL",
        params![id.0, url, config, now],
    )?;
    require_source(changed, id)?;
    transaction.execute(
        "UPDATE source_stats SET state = 'idle', attempts = 0 WHERE source_id = ?1",
        [id.0],
    )?;
    Ok(())
}

/// Renames a source; names are unique among sources not removed.
pub fn rename_source(
    transaction: &Transaction<'_>,
    id: SourceId,
    name: &str,
    now: i64,
) -> Result<()> {
    if let Some(other) = find_source_by_name(transaction, name)? {
        if other.id != id {
            return Err(StoreError::Duplicate {
                item: Named::Source,
                name: name.to_string(),
            });
        }
    }
    let changed = transaction.execute(
        "UPDATE sources SET name = ?2, updated_at = ?3 WHERE id = ?1 AND removed_at IS NULL",
        params![id.0, name, now],
    )?;
    require_source(changed, id)
}

pub fn set_source_enabled(
    transaction: &Transaction<'_>,
    id: SourceId,
    enabled: bool,
    now: i64,
) -> Result<()> {
    let changed = transaction.execute(
        "UPDATE sources SET enabled = ?2, updated_at = ?3 WHERE id = ?1 AND removed_at IS NULL",
        params![id.0, enabled, now],
    )?;
    require_source(changed, id)?;
    transaction.execute(
        "UPDATE source_stats SET state = ?2, attempts = 0, retry_at = NULL WHERE source_id = ?1",
        params![id.0, if enabled { "idle" } else { "disabled" }],
    )?;
    Ok(())
}

/// Records where the source's secrets are and, for `Database`, the secrets.
pub fn set_source_secret(
    transaction: &Transaction<'_>,
    id: SourceId,
    store: SecretStore,
    secret: Option<&str>,
) -> Result<()> {
    let changed = transaction.execute(
        "UPDATE sources SET secret_store = ?2, secret = ?3 WHERE id = ?1",
        params![id.0, store.as_str(), secret],
    )?;
    require_source(changed, id)
}

/// The secrets kept in the database for a source, if that is where they are.
pub fn source_secret(connection: &Connection, id: SourceId) -> Result<Option<String>> {
    Ok(connection
        .query_row("SELECT secret FROM sources WHERE id = ?1", [id.0], |row| {
            row.get(0)
        })
        .optional()?
        .flatten())
}

/// Removes a source. With `keep_messages` its history stays in the inbox
/// (the row is only marked removed); otherwise the messages go too.
pub fn remove_source(
    transaction: &Transaction<'_>,
    id: SourceId,
    keep_messages: bool,
    now: i64,
) -> Result<usize> {
    get_source(transaction, id)?;
    if keep_messages {
        transaction.execute(
            "UPDATE sources SET removed_at = ?2, enabled = 0, secret = NULL, secret_store = 'none' WHERE id = ?1",
            params![id.0, now],
        )?;
        transaction.execute("DELETE FROM cursors WHERE source_id = ?1", [id.0])?;
        return Ok(0);
    }
    let deleted = delete_messages(transaction, &Selection::Source(id))?;
    transaction.execute("DELETE FROM sources WHERE id = ?1", [id.0])?;
    Ok(deleted)
}

fn require_source(changed: usize, id: SourceId) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound {
            item: Item::Source,
            id: id.0,
        });
    }
    Ok(())
}

pub fn cursor(connection: &Connection, id: SourceId) -> Result<Option<Cursor>> {
    Ok(connection
        .query_row(
            "SELECT last_id, last_time FROM cursors WHERE source_id = ?1",
            [id.0],
            |row| {
                Ok(Cursor {
                    last_id: row.get(0)?,
                    last_time: row.get(1)?,
                })
            },
        )
        .optional()?)
}

// --------------------------------------------------------------- messages

/// Which part of the inbox to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Not archived and not snoozed.
    #[default]
    Inbox,
    Unread,
    Starred,
    Archived,
    /// Everything, snoozed and archived included.
    All,
}

/// Filters for listing and searching; every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageFilter {
    pub view: View,
    pub source: Option<SourceId>,
    pub min_priority: Option<Priority>,
    pub tag: Option<String>,
    /// Received at or after (Unix ms).
    pub since: Option<i64>,
    /// Received before (Unix ms).
    pub until: Option<i64>,
    /// Keyset pagination: only messages older than this one.
    pub before: Option<MessageId>,
}

/// The message columns, in the order [`message_from_row`] reads them.
const MESSAGE_COLUMNS: &str = "m.id, m.source_id, s.name, m.remote_id, m.received_at, m.sent_at, m.expires_at, m.topic, m.title, m.body, m.format, m.priority, m.raw_priority, m.tags, m.click, m.icon, m.actions, m.attachment, m.group_key, m.extras, m.read, m.starred, m.snoozed_until, m.archived_at";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Message> {
    let json = |index: usize| -> rusqlite::Result<Option<serde_json::Value>> {
        let text: Option<String> = row.get(index)?;
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    };
    let tags: Option<String> = row.get(13)?;
    let format: String = row.get(10)?;
    Ok(Message {
        id: MessageId(row.get(0)?),
        source_id: SourceId(row.get(1)?),
        source_name: row.get(2)?,
        remote_id: row.get(3)?,
        received_at: row.get(4)?,
        sent_at: row.get(5)?,
        expires_at: row.get(6)?,
        topic: row.get(7)?,
        title: row.get(8)?,
        body: row.get(9)?,
        format: BodyFormat::parse(&format),
        priority: Priority::clamped(row.get(11)?),
        raw_priority: row.get(12)?,
        tags: tags
            .and_then(|tags| serde_json::from_str(&tags).ok())
            .unwrap_or_default(),
        click: row.get(14)?,
        icon: row.get(15)?,
        actions: json(16)?,
        attachment: json(17)?,
        group_key: row.get(18)?,
        extras: json(19)?,
        read: row.get(20)?,
        starred: row.get(21)?,
        snoozed_until: row.get(22)?,
        archived_at: row.get(23)?,
    })
}

/// Appends the filter's conditions to `sql` (which already has a WHERE).
fn push_filter(
    filter: &MessageFilter,
    now: i64,
    sql: &mut String,
    values: &mut Vec<Box<dyn ToSql>>,
) {
    let mut push = |condition: &str, value: Option<Box<dyn ToSql>>| {
        sql.push_str(" AND ");
        sql.push_str(&condition.replace('?', &format!("?{}", values.len() + 1)));
        if let Some(value) = value {
            values.push(value);
        }
    };
    match filter.view {
        View::Inbox => push("m.archived_at IS NULL AND (m.snoozed_until IS NULL OR m.snoozed_until <= ?)", Some(Box::new(now))),
        View::Unread => push(
            "m.read = 0 AND m.archived_at IS NULL AND (m.snoozed_until IS NULL OR m.snoozed_until <= ?)",
            Some(Box::new(now)),
        ),
        View::Starred => push("m.starred = 1", None),
        View::Archived => push("m.archived_at IS NOT NULL", None),
        View::All => {}
    }
    if let Some(source) = filter.source {
        push("m.source_id = ?", Some(Box::new(source.0)));
    }
    if let Some(priority) = filter.min_priority {
        push("m.priority >= ?", Some(Box::new(priority.get())));
    }
    if let Some(tag) = &filter.tag {
        push(
            "EXISTS (SELECT 1 FROM json_each(m.tags) WHERE value = ?)",
            Some(Box::new(tag.clone())),
        );
    }
    if let Some(since) = filter.since {
        push("m.received_at >= ?", Some(Box::new(since)));
    }
    if let Some(until) = filter.until {
        push("m.received_at < ?", Some(Box::new(until)));
    }
    if let Some(before) = filter.before {
        push("m.id < ?", Some(Box::new(before.0)));
    }
}

/// Newest first, at most `limit`. Page on with `filter.before = last.id`.
pub fn list_messages(
    connection: &Connection,
    filter: &MessageFilter,
    limit: usize,
    now: i64,
) -> Result<Vec<Message>> {
    let mut sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN sources s ON s.id = m.source_id WHERE 1"
    );
    let mut values: Vec<Box<dyn ToSql>> = Vec::new();
    push_filter(filter, now, &mut sql, &mut values);
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT {}", limit.min(10_000)));
    let mut statement = connection.prepare_cached(&sql)?;
    let messages = statement
        .query_map(params_from_iter(values.iter()), message_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(messages)
}

pub fn get_message(connection: &Connection, id: MessageId) -> Result<Message> {
    connection
        .query_row(
            &format!("SELECT {MESSAGE_COLUMNS} FROM messages m JOIN sources s ON s.id = m.source_id WHERE m.id = ?1"),
            [id.0],
            message_from_row,
        )
        .optional()?
        .ok_or(StoreError::NotFound {
            item: Item::Message,
            id: id.0,
        })
}

/// A search result: the message and excerpts with the matches marked.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub message: Message,
    pub title: Snippet,
    pub snippet: Snippet,
}

/// Full-text search, newest first. An empty or punctuation-only query finds nothing.
pub fn search(
    connection: &Connection,
    query: &str,
    filter: &MessageFilter,
    limit: usize,
    now: i64,
) -> Result<Vec<SearchHit>> {
    let Some(query) = build_query(query) else {
        return Ok(Vec::new());
    };
    let mut sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages_fts f JOIN messages m ON m.id = f.rowid JOIN sources s ON s.id = m.source_id WHERE messages_fts MATCH ?1"
    );
    let mut values: Vec<Box<dyn ToSql>> = vec![Box::new(query.fts_match.clone())];
    push_filter(filter, now, &mut sql, &mut values);
    sql.push_str(&format!(
        " ORDER BY f.rowid DESC LIMIT {}",
        limit.min(10_000)
    ));
    let mut statement = connection.prepare_cached(&sql)?;
    let messages: Vec<Message> = statement
        .query_map(params_from_iter(values.iter()), message_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(messages
        .into_iter()
        .map(|message| SearchHit {
            title: snippet(&message.title, &query.needles, 200),
            // Markdown bodies are searched as written but excerpted as
            // read, so no `**` or `[](…)` shows around a match.
            snippet: match message.format {
                BodyFormat::Markdown => snippet(
                    &crate::render::plain_text(
                        &message.body,
                        message.format,
                        crate::render::MAX_RENDERED_CHARS,
                    ),
                    &query.needles,
                    160,
                ),
                BodyFormat::Text => snippet(&message.body, &query.needles, 160),
            },
            message,
        })
        .collect())
}

/// How many messages match a search, for "N results".
pub fn count_search(connection: &Connection, query: &str) -> Result<u64> {
    let Some(query) = build_query(query) else {
        return Ok(0);
    };
    Ok(connection.query_row(
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
        [query.fts_match],
        |row| row.get(0),
    )?)
}

// ------------------------------------------------------------------ stats

/// Counts for one source, live and cumulative.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceStats {
    pub id: SourceId,
    pub name: String,
    pub protocol: String,
    pub enabled: bool,
    /// Messages in the inbox now.
    pub stored: u64,
    pub unread: u64,
    pub frames_received: u64,
    pub frames_rejected: u64,
    pub frames_malformed: u64,
    /// New messages stored since the source was added (pruned ones included).
    pub messages_stored: u64,
    /// Messages routing rules dropped instead of storing.
    pub messages_dropped: u64,
    pub state: String,
    pub state_since: Option<i64>,
    pub retry_at: Option<i64>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub stored: u64,
    pub unread: u64,
    pub frames_rejected: u64,
    pub frames_malformed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub sources: Vec<SourceStats>,
    pub totals: Totals,
}

pub fn stats(connection: &Connection) -> Result<Stats> {
    let sources = source_stats(connection)?;
    // Totals count every message, those of removed sources kept for history
    // too: `message_counts` keeps them (see `adjust_counts`).
    let (stored, unread): (u64, u64) = connection.query_row(
        "SELECT coalesce(sum(stored), 0), coalesce(sum(unread), 0) FROM message_counts",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let totals = Totals {
        stored,
        unread,
        frames_rejected: sources.iter().map(|source| source.frames_rejected).sum(),
        frames_malformed: sources.iter().map(|source| source.frames_malformed).sum(),
    };
    Ok(Stats { sources, totals })
}

/// Per-source counts and status, without the totals: what the window's
/// sidebar needs.
pub fn source_stats(connection: &Connection) -> Result<Vec<SourceStats>> {
    let mut statement = connection.prepare_cached(
        "SELECT s.id, s.name, s.protocol, s.enabled,
                coalesce(c.stored, 0), coalesce(c.unread, 0),
                coalesce(t.frames_received, 0), coalesce(t.frames_rejected, 0), coalesce(t.frames_malformed, 0),
                coalesce(t.messages_stored, 0), coalesce(t.state, 'idle'), t.state_since, t.retry_at,
                coalesce(t.attempts, 0), t.last_error, t.last_error_at, coalesce(t.messages_dropped, 0)
         FROM sources s LEFT JOIN source_stats t ON t.source_id = s.id
                        LEFT JOIN message_counts c ON c.source_id = s.id
         WHERE s.removed_at IS NULL ORDER BY s.id",
    )?;
    let sources: Vec<SourceStats> = statement
        .query_map([], |row| {
            Ok(SourceStats {
                id: SourceId(row.get(0)?),
                name: row.get(1)?,
                protocol: row.get(2)?,
                enabled: row.get(3)?,
                stored: row.get(4)?,
                unread: row.get(5)?,
                frames_received: row.get(6)?,
                frames_rejected: row.get(7)?,
                frames_malformed: row.get(8)?,
                messages_stored: row.get(9)?,
                state: row.get(10)?,
                state_since: row.get(11)?,
                retry_at: row.get(12)?,
                attempts: row.get(13)?,
                last_error: row.get(14)?,
                last_error_at: row.get(15)?,
                messages_dropped: row.get(16)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(sources)
}

/// Unread messages per source, for the sidebar and the tray.
pub fn unread_counts(connection: &Connection) -> Result<Vec<(SourceId, u64)>> {
    let mut statement = connection.prepare_cached(
        "SELECT source_id, unread FROM message_counts WHERE unread > 0 ORDER BY source_id",
    )?;
    let counts = statement
        .query_map([], |row| Ok((SourceId(row.get(0)?), row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(counts)
}

// ---------------------------------------------------------------- triage

/// Which messages a change applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Ids(Vec<MessageId>),
    Source(SourceId),
    All,
}

impl Selection {
    /// A WHERE condition over `messages` and its parameters.
    fn condition(&self) -> (String, Vec<i64>) {
        match self {
            Selection::Ids(ids) => {
                let marks = vec!["?"; ids.len()].join(",");
                (
                    format!("id IN ({marks})"),
                    ids.iter().map(|id| id.0).collect(),
                )
            }
            Selection::Source(source) => ("source_id = ?".into(), vec![source.0]),
            Selection::All => ("1".into(), Vec::new()),
        }
    }

    /// The selection in pieces small enough for SQLite's parameter limit.
    fn chunks(&self) -> Vec<Selection> {
        match self {
            Selection::Ids(ids) => ids
                .chunks(500)
                .map(|chunk| Selection::Ids(chunk.to_vec()))
                .collect(),
            other => vec![other.clone()],
        }
    }

    /// Runs `make_sql(condition)` once per chunk, so a selection of any size
    /// stays under SQLite's parameter limit. Returns the rows changed.
    fn apply(
        &self,
        transaction: &Transaction<'_>,
        extra: &[&dyn ToSql],
        make_sql: impl Fn(&str) -> String,
    ) -> Result<usize> {
        let mut changed = 0;
        for chunk in self.chunks() {
            let (condition, ids) = chunk.condition();
            let numbered = number_placeholders(&condition, extra.len());
            let sql = make_sql(&numbered);
            let mut values: Vec<&dyn ToSql> = extra.to_vec();
            values.extend(ids.iter().map(|id| id as &dyn ToSql));
            changed += transaction.execute(&sql, values.as_slice())?;
        }
        Ok(changed)
    }

    /// Runs `make_sql(condition)`, a `SELECT source_id, a, b … GROUP BY
    /// source_id`, once per chunk; returns each source's summed `a` and `b`.
    fn per_source(
        &self,
        transaction: &Transaction<'_>,
        extra: &[&dyn ToSql],
        make_sql: impl Fn(&str) -> String,
    ) -> Result<HashMap<i64, (i64, i64)>> {
        let mut sums: HashMap<i64, (i64, i64)> = HashMap::new();
        for chunk in self.chunks() {
            let (condition, ids) = chunk.condition();
            let sql = make_sql(&number_placeholders(&condition, extra.len()));
            let mut values: Vec<&dyn ToSql> = extra.to_vec();
            values.extend(ids.iter().map(|id| id as &dyn ToSql));
            let mut statement = transaction.prepare(&sql)?;
            let mut rows = statement.query(values.as_slice())?;
            while let Some(row) = rows.next()? {
                let sum = sums.entry(row.get(0)?).or_default();
                sum.0 += row.get::<_, i64>(1)?;
                sum.1 += row.get::<_, i64>(2)?;
            }
        }
        Ok(sums)
    }
}

/// Adds `(stored, unread)` deltas to each source's kept totals
/// (`message_counts`). Every change to the messages calls this in the
/// transaction that makes the change; `check` compares the totals with a
/// full count.
pub(crate) fn adjust_counts(
    transaction: &Transaction<'_>,
    deltas: impl IntoIterator<Item = (i64, (i64, i64))>,
) -> Result<()> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO message_counts (source_id, stored, unread) VALUES (?1, ?2, ?3)
         ON CONFLICT (source_id) DO UPDATE SET
             stored = stored + excluded.stored, unread = unread + excluded.unread",
    )?;
    for (source_id, (stored, unread)) in deltas {
        if stored != 0 || unread != 0 {
            statement.execute(params![source_id, stored, unread])?;
        }
    }
    Ok(())
}

/// Turns each bare `?` into `?N`, starting after `offset` earlier parameters.
fn number_placeholders(condition: &str, offset: usize) -> String {
    let mut out = String::with_capacity(condition.len() + 16);
    let mut next = offset + 1;
    for character in condition.chars() {
        if character == '?' {
            out.push_str(&format!("?{next}"));
            next += 1;
        } else {
            out.push(character);
        }
    }
    out
}

pub fn set_read(transaction: &Transaction<'_>, selection: &Selection, read: bool) -> Result<usize> {
    let changing = selection.per_source(transaction, &[&read], |condition| {
        format!("SELECT source_id, count(*), 0 FROM messages WHERE {condition} AND read != ?1 GROUP BY source_id")
    })?;
    let sign = if read { -1 } else { 1 };
    adjust_counts(
        transaction,
        changing
            .into_iter()
            .map(|(source, (changed, _))| (source, (0, sign * changed))),
    )?;
    selection.apply(transaction, &[&read], |condition| {
        format!("UPDATE messages SET read = ?1 WHERE {condition} AND read != ?1")
    })
}

pub fn set_starred(
    transaction: &Transaction<'_>,
    selection: &Selection,
    starred: bool,
) -> Result<usize> {
    selection.apply(transaction, &[&starred], |condition| {
        format!("UPDATE messages SET starred = ?1 WHERE {condition} AND starred != ?1")
    })
}

/// Hides messages until `until` (Unix ms); `None` wakes them now.
pub fn snooze(
    transaction: &Transaction<'_>,
    selection: &Selection,
    until: Option<i64>,
) -> Result<usize> {
    selection.apply(transaction, &[&until], |condition| {
        format!("UPDATE messages SET snoozed_until = ?1 WHERE {condition}")
    })
}

/// Archiving marks as read too: an archived message is dealt with.
pub fn set_archived(
    transaction: &Transaction<'_>,
    selection: &Selection,
    archived: bool,
    now: i64,
) -> Result<usize> {
    if archived {
        let unread = selection.per_source(transaction, &[], |condition| {
            format!("SELECT source_id, count(*), 0 FROM messages WHERE {condition} AND archived_at IS NULL AND read = 0 GROUP BY source_id")
        })?;
        adjust_counts(
            transaction,
            unread
                .into_iter()
                .map(|(source, (unread, _))| (source, (0, -unread))),
        )?;
        selection.apply(transaction, &[&now], |condition| {
            format!("UPDATE messages SET archived_at = ?1, read = 1 WHERE {condition} AND archived_at IS NULL")
        })
    } else {
        selection.apply(transaction, &[], |condition| {
            format!("UPDATE messages SET archived_at = NULL WHERE {condition} AND archived_at IS NOT NULL")
        })
    }
}

/// Deletes messages and their search entries. Cursors stay, so a deleted
/// message is not fetched again.
pub fn delete_messages(transaction: &Transaction<'_>, selection: &Selection) -> Result<usize> {
    let doomed = selection.per_source(transaction, &[], |condition| {
        format!("SELECT source_id, count(*), sum(read = 0) FROM messages WHERE {condition} GROUP BY source_id")
    })?;
    adjust_counts(
        transaction,
        doomed
            .into_iter()
            .map(|(source, (stored, unread))| (source, (-stored, -unread))),
    )?;
    selection.apply(transaction, &[], |condition| {
        format!(
            "INSERT INTO messages_fts (messages_fts, rowid, title, body, tags)
             SELECT 'delete', id, title, body, tags FROM messages_search
             WHERE id IN (SELECT id FROM messages WHERE {condition})"
        )
    })?;
    selection.apply(transaction, &[], |condition| {
        format!("DELETE FROM messages WHERE {condition}")
    })
}

/// Triage state carried by an export and restored by an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageState {
    pub read: bool,
    pub starred: bool,
    pub snoozed_until: Option<i64>,
    pub archived_at: Option<i64>,
}

// -------------------------------------------------------------- retention

/// How long messages are kept. Starred messages are always kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Retention {
    /// Delete messages received more than this many days ago.
    pub max_age_days: Option<u32>,
    /// Keep at most this many messages per source, newest first.
    pub max_per_source: Option<u32>,
}

const RETENTION_KEY: &str = "retention";

pub fn retention(connection: &Connection) -> Result<Retention> {
    Ok(get_setting(connection, RETENTION_KEY)?
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default())
}

pub fn set_retention(transaction: &Transaction<'_>, retention: &Retention) -> Result<()> {
    let text =
        serde_json::to_string(retention).map_err(|error| StoreError::Invalid(error.to_string()))?;
    set_setting(transaction, RETENTION_KEY, &text)
}

/// Applies `retention` and returns how many messages were deleted.
pub fn prune(transaction: &Transaction<'_>, retention: &Retention, now: i64) -> Result<usize> {
    let mut doomed: Vec<i64> = Vec::new();
    if let Some(days) = retention.max_age_days {
        let cutoff = now - i64::from(days) * 86_400_000;
        let mut statement = transaction
            .prepare("SELECT id FROM messages WHERE received_at < ?1 AND starred = 0")?;
        doomed.extend(
            statement
                .query_map([cutoff], |row| row.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
    }
    if let Some(keep) = retention.max_per_source {
        let mut statement = transaction.prepare(
            "SELECT id FROM (SELECT id, starred, row_number() OVER (PARTITION BY source_id ORDER BY id DESC) AS rank FROM messages)
             WHERE rank > ?1 AND starred = 0",
        )?;
        doomed.extend(
            statement
                .query_map([keep], |row| row.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?,
        );
    }
    doomed.sort_unstable();
    doomed.dedup();
    if doomed.is_empty() {
        return Ok(0);
    }
    delete_messages(
        transaction,
        &Selection::Ids(doomed.into_iter().map(MessageId).collect()),
    )
}

// --------------------------------------------------------------- settings

pub fn get_setting(connection: &Connection, key: &str) -> Result<Option<String>> {
    Ok(connection
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub fn set_setting(transaction: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    transaction.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- checks

/// Result of [`check_integrity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    pub sqlite: String,
    pub search_index: String,
    pub messages: u64,
    pub indexed: u64,
    /// "ok" when the kept per-source totals (`message_counts`) match a full
    /// count of the messages, otherwise which sources differ.
    pub counts: String,
}

impl IntegrityReport {
    pub fn is_ok(&self) -> bool {
        self.sqlite == "ok" && self.search_index == "ok" && self.counts == "ok"
    }
}

/// `PRAGMA integrity_check` plus the FTS5 check of the index against its content.
pub fn check_integrity(connection: &Connection) -> Result<IntegrityReport> {
    let sqlite: String = connection.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    let search_index = match connection.execute(
        "INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)",
        [],
    ) {
        Ok(_) => "ok".to_string(),
        Err(error) => error.to_string(),
    };
    let messages = connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
    let indexed = connection.query_row("SELECT count(*) FROM messages_fts_docsize", [], |row| {
        row.get(0)
    })?;
    let mut statement = connection.prepare(
        "SELECT source_id, kept_stored, kept_unread, stored, unread FROM (
             SELECT coalesce(c.source_id, m.source_id) AS source_id,
                    coalesce(c.stored, 0) AS kept_stored, coalesce(c.unread, 0) AS kept_unread,
                    coalesce(m.stored, 0) AS stored, coalesce(m.unread, 0) AS unread
             FROM message_counts c
             FULL JOIN (SELECT source_id, count(*) AS stored, sum(read = 0) AS unread
                        FROM messages GROUP BY source_id) m ON m.source_id = c.source_id)
         WHERE kept_stored != stored OR kept_unread != unread ORDER BY source_id",
    )?;
    let wrong: Vec<String> = statement
        .query_map([], |row| {
            let number = |index: usize| row.get::<_, i64>(index).map(|n| n.to_string());
            Ok(text(
                "check.counts_differ",
                &[
                    ("id", &number(0)?),
                    ("kept_stored", &number(1)?),
                    ("kept_unread", &number(2)?),
                    ("stored", &number(3)?),
                    ("unread", &number(4)?),
                ],
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let counts = if wrong.is_empty() {
        "ok".to_string()
    } else {
        wrong.join("; ")
    };
    Ok(IntegrityReport {
        sqlite,
        search_index,
        messages,
        indexed,
        counts,
    })
}
