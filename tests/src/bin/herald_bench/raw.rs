//! (a) The raw SQLite limit: Herald's schema and Herald's two INSERT
//! statements, 1000 rows per transaction, nothing else.

use std::path::Path;
use std::time::Instant;

use herald_core::config::SourceConfig;
use herald_core::model::{now_ms, NewMessage, Protocol, SourceId};
use herald_core::search_text::fold_for_index;
use herald_core::store::{self, migrations, NewSource, INSERT_FTS_SQL, INSERT_MESSAGE_SQL};
use rusqlite::{params, Connection};

use crate::herald_bench::error::{Context, Result};
use crate::herald_bench::machine::{self, CpuSample};

pub const ROWS_PER_TRANSACTION: usize = 1000;

/// A what-if change to Herald's schema, applied right after migrating, to
/// measure a proposed change without editing herald-core. Empty by default.
#[derive(Debug, Clone, Default)]
pub struct Experiment {
    /// FTS5 `prefix=` option for `messages_fts`, e.g. "1 2".
    pub fts_prefix: Option<String>,
    /// FTS5 `hashsize` (bytes of pending index kept in memory before it is
    /// written out as a new segment; SQLite's default is 1 MiB).
    pub fts_hashsize: Option<u64>,
    /// SQLite page cache of the writing connection, in MiB (Herald leaves
    /// SQLite's default of 2 MiB).
    pub cache_mib: Option<u64>,
    /// `PRAGMA wal_autocheckpoint` of the writing connection, in pages
    /// (SQLite's default is 1000, about 4 MiB).
    pub wal_autocheckpoint: Option<u64>,
    /// Routing rules the engine evaluates for every message (the raw path
    /// has none; rules cost the engine, not SQLite).
    pub routing_rules: usize,
}

impl Experiment {
    pub fn is_empty(&self) -> bool {
        self.fts_prefix.is_none()
            && self.fts_hashsize.is_none()
            && self.cache_mib.is_none()
            && self.wal_autocheckpoint.is_none()
            && self.routing_rules == 0
    }

    /// What it changes, for the report.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(prefix) = &self.fts_prefix {
            parts.push(format!("messages_fts recreated with prefix='{prefix}'"));
        }
        if let Some(bytes) = self.fts_hashsize {
            parts.push(format!("messages_fts hashsize set to {bytes} bytes"));
        }
        if let Some(mib) = self.cache_mib {
            parts.push(format!("writer's cache_size set to {mib} MiB"));
        }
        if let Some(pages) = self.wal_autocheckpoint {
            parts.push(format!("writer's wal_autocheckpoint set to {pages} pages"));
        }
        if self.routing_rules > 0 {
            parts.push(format!(
                "{} routing rules evaluated by the engine for every message",
                self.routing_rules
            ));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// A file-name suffix, so cached corpora of different schemas coexist.
    pub fn tag(&self) -> String {
        let mut tag = String::new();
        if let Some(prefix) = &self.fts_prefix {
            tag.push_str("-prefix-");
            tag.push_str(&prefix.split_whitespace().collect::<Vec<_>>().join("-"));
        }
        if let Some(bytes) = self.fts_hashsize {
            tag.push_str(&format!("-hashsize-{bytes}"));
        }
        if let Some(mib) = self.cache_mib {
            tag.push_str(&format!("-cache-{mib}"));
        }
        if let Some(pages) = self.wal_autocheckpoint {
            tag.push_str(&format!("-autocheckpoint-{pages}"));
        }
        tag
    }

    /// Applies the change to a freshly migrated, still empty database. The
    /// table definition is migration 5's, with the experiment's prefix instead of '1'.
    pub fn apply(&self, connection: &Connection) -> rusqlite::Result<()> {
        if let Some(prefix) = &self.fts_prefix {
            connection.execute_batch(&format!(
                "DROP TABLE messages_fts;
                 CREATE VIRTUAL TABLE messages_fts USING fts5(
                     title, body, tags,
                     content = 'messages_search', content_rowid = 'id',
                     tokenize = 'unicode61 remove_diacritics 2',
                     prefix = '{prefix}'
                 );"
            ))?;
        }
        if let Some(bytes) = self.fts_hashsize {
            connection.execute(
                "INSERT INTO messages_fts (messages_fts, rank) VALUES ('hashsize', ?1)",
                [bytes as i64],
            )?;
        }
        if let Some(mib) = self.cache_mib {
            connection.execute_batch(&format!("PRAGMA cache_size = -{};", mib * 1024))?;
        }
        if let Some(pages) = self.wal_autocheckpoint {
            connection.execute_batch(&format!("PRAGMA wal_autocheckpoint = {pages};"))?;
        }
        Ok(())
    }
}

/// Removes a database and its WAL and shared-memory files.
pub fn remove_database(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("removing {}", path.display()))
            }
        }
    }
    Ok(())
}

/// A fresh database with Herald's schema and one ntfy source.
pub fn create(path: &Path, experiment: &Experiment) -> Result<(Connection, SourceId)> {
    remove_database(path)?;
    let mut connection =
        store::open_connection(path).with_context(|| format!("opening {}", path.display()))?;
    migrations::migrate(&mut connection)?;
    experiment.apply(&connection)?;
    let transaction = connection.transaction()?;
    let source = store::insert_source(
        &transaction,
        &NewSource {
            name: "bench".into(),
            protocol: Protocol::Ntfy,
            url: "ws://127.0.0.1:9/bench/ws".into(),
            enabled: true,
            config: SourceConfig::default(),
        },
        now_ms(),
    )?;
    transaction.commit()?;
    Ok((connection, source))
}

/// Inserts `messages` in one transaction with Herald's statements, binding
/// the same values `Inserter::insert_message` binds.
pub fn insert_transaction(
    connection: &mut Connection,
    source: SourceId,
    messages: &[NewMessage],
) -> Result<()> {
    let received_at = now_ms();
    let transaction = connection.transaction()?;
    {
        let mut insert_message = transaction.prepare_cached(INSERT_MESSAGE_SQL)?;
        let mut insert_fts = transaction.prepare_cached(INSERT_FTS_SQL)?;
        let json = |value: &Option<serde_json::Value>| value.as_ref().map(|v| v.to_string());
        for message in messages {
            let tags = if message.tags.is_empty() {
                None
            } else {
                Some(serde_json::to_string(&message.tags)?)
            };
            let inserted = insert_message.execute(params![
                source.0,
                message.remote_id,
                received_at,
                message.sent_at,
                message.expires_at,
                message.topic,
                message.title,
                message.body,
                message.format.as_str(),
                message.priority.get(),
                message.raw_priority,
                tags,
                message.click,
                message.icon,
                json(&message.actions),
                json(&message.attachment),
                message.group_key,
                json(&message.extras),
            ])?;
            ensure!(inserted == 1, "duplicate remote id {}", message.remote_id);
            let id = transaction.last_insert_rowid();
            insert_fts.execute(params![
                id,
                fold_for_index(&message.title),
                fold_for_index(&message.body),
                fold_for_index(tags.as_deref().unwrap_or("")),
            ])?;
        }
    }
    transaction.commit()?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RawRun {
    pub rows: usize,
    pub rows_per_transaction: usize,
    pub seconds: f64,
    pub rows_per_sec: f64,
    /// Share of the machine's CPU other processes used meanwhile.
    pub other_cpu: f64,
    /// MiB read and written through system calls (SQLite's file I/O).
    pub read_mib: f64,
    pub written_mib: f64,
}

/// (a): a fresh database at `path`, then every message in transactions of
/// `rows_per_transaction` rows.
pub fn run(
    path: &Path,
    messages: &[NewMessage],
    rows_per_transaction: usize,
    experiment: &Experiment,
) -> Result<RawRun> {
    let (mut connection, source) = create(path, experiment)?;
    let cpu = CpuSample::now();
    let io_before = machine::current_thread_io();
    let started = Instant::now();
    for chunk in messages.chunks(rows_per_transaction) {
        insert_transaction(&mut connection, source, chunk)?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let other_cpu = cpu.others_since();
    let io_after = machine::current_thread_io();
    let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
    let stored: usize =
        connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?;
    ensure!(
        stored == messages.len(),
        "raw insert stored {stored} rows, expected {}",
        messages.len()
    );
    drop(connection);
    Ok(RawRun {
        rows: messages.len(),
        rows_per_transaction,
        seconds,
        rows_per_sec: messages.len() as f64 / seconds,
        other_cpu,
        read_mib: mib(io_after.0.saturating_sub(io_before.0)),
        written_mib: mib(io_after.1.saturating_sub(io_before.1)),
    })
}
