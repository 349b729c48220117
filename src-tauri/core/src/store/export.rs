//! JSON Lines export and import: one message per line, every field and the
//! triage state, so export → import is lossless. Import dedups on
//! `(source, remote_id)` like live ingest, so importing twice adds nothing.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::queries::{find_source_by_name, insert_source, NewSource, TriageState};
use super::writer::Inserter;
use super::{Result, Store, StoreError};
use crate::config::SourceConfig;
use crate::model::{Message, NewMessage, Protocol};

/// One line of an export.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    /// The source's name: imports attach the message to the source of that name.
    source: String,
    source_protocol: Protocol,
    source_url: String,
    received_at: i64,
    #[serde(flatten)]
    message: NewMessage,
    #[serde(flatten)]
    state: TriageState,
}

/// Writes every message, oldest first, to `path`. Returns how many.
pub fn export_jsonl(store: &Store, path: &Path) -> Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut out = BufWriter::new(file);
    let written = store.read(|connection| {
        let mut statement = connection.prepare(
            "SELECT m.id, s.protocol, s.url FROM messages m JOIN sources s ON s.id = m.source_id ORDER BY m.id",
        )?;
        let mut rows = statement.query([])?;
        let mut written = 0u64;
        // Fetch full rows in pages, so a million messages never sit in memory at once.
        let mut page: Vec<(i64, String, String)> = Vec::with_capacity(1000);
        loop {
            let row = rows.next()?;
            if let Some(row) = row {
                page.push((row.get(0)?, row.get(1)?, row.get(2)?));
            }
            if page.len() == 1000 || (row.is_none() && !page.is_empty()) {
                for (id, protocol, url) in page.drain(..) {
                    let message = super::queries::get_message(connection, crate::model::MessageId(id))?;
                    let line = to_line(message, &protocol, url);
                    serde_json::to_writer(&mut out, &line).map_err(|error| StoreError::Invalid(error.to_string()))?;
                    out.write_all(b"\n")?;
                    written += 1;
                }
            }
            if row.is_none() {
                break;
            }
        }
        Ok(written)
    })?;
    out.flush()?;
    Ok(written)
}

fn to_line(message: Message, protocol: &str, source_url: String) -> Line {
    Line {
        source: message.source_name,
        source_protocol: Protocol::parse(protocol).unwrap_or(Protocol::Json),
        source_url,
        received_at: message.received_at,
        state: TriageState {
            read: message.read,
            starred: message.starred,
            snoozed_until: message.snoozed_until,
            archived_at: message.archived_at,
        },
        message: NewMessage {
            remote_id: message.remote_id,
            sent_at: message.sent_at,
            expires_at: message.expires_at,
            topic: message.topic,
            title: message.title,
            body: message.body,
            format: message.format,
            priority: message.priority,
            raw_priority: message.raw_priority,
            tags: message.tags,
            click: message.click,
            icon: message.icon,
            actions: message.actions,
            attachment: message.attachment,
            group_key: message.group_key,
            extras: message.extras,
            updates: None,
        },
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub lines: u64,
    pub imported: u64,
    pub duplicates: u64,
    /// Sources created (disabled) because no source had the name in the file.
    pub sources_created: Vec<String>,
}

/// Reads an export. A line that is not a valid message stops the import with
/// its line number; everything before it is kept.
pub fn import_jsonl(store: &Store, path: &Path, now: i64) -> Result<ImportReport> {
    let file = std::fs::File::open(path)?;
    import_from(
        store,
        BufReader::new(file),
        &path.display().to_string(),
        now,
    )
}

/// Reads an export from any reader; `origin` names it in errors.
pub fn import_from(
    store: &Store,
    reader: impl BufRead,
    origin: &str,
    now: i64,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let mut chunk: Vec<Line> = Vec::with_capacity(1000);
    for (index, text) in reader.lines().enumerate() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = match serde_json::from_str(&text) {
            Ok(line) => line,
            Err(error) => {
                // Keep what came before the bad line, as documented above.
                import_chunk(store, std::mem::take(&mut chunk), now, &mut report)?;
                return Err(StoreError::Invalid(crate::i18n::text(
                    "error.import_line",
                    &[
                        ("line", &(index + 1).to_string()),
                        ("origin", origin),
                        ("error", &error.to_string()),
                    ],
                )));
            }
        };
        chunk.push(line);
        if chunk.len() == 1000 {
            import_chunk(store, std::mem::take(&mut chunk), now, &mut report)?;
        }
    }
    import_chunk(store, chunk, now, &mut report)?;
    Ok(report)
}

fn import_chunk(
    store: &Store,
    chunk: Vec<Line>,
    now: i64,
    report: &mut ImportReport,
) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let (imported, duplicates, created) = store.write(move |transaction| {
        let (mut imported, mut duplicates, mut created) = (0u64, 0u64, Vec::new());
        let mut source_ids = std::collections::HashMap::new();
        for line in &chunk {
            if !source_ids.contains_key(&line.source) {
                let id = match find_source_by_name(transaction, &line.source)? {
                    Some(source) => source.id,
                    None => {
                        created.push(line.source.clone());
                        let source = NewSource {
                            name: line.source.clone(),
                            protocol: line.source_protocol,
                            url: line.source_url.clone(),
                            enabled: false,
                            config: SourceConfig::default(),
                        };
                        insert_source(transaction, &source, now)?
                    }
                };
                source_ids.insert(line.source.clone(), id);
            }
        }
        let mut inserter = Inserter::new(transaction)?;
        for line in &chunk {
            let source_id = source_ids[&line.source];
            let derived = crate::model::DerivedColumns::new(&line.message);
            match inserter.insert_message(
                source_id,
                &line.message,
                &derived,
                line.received_at,
                Some(&line.state),
            )? {
                Some(_) => imported += 1,
                None => duplicates += 1,
            }
        }
        inserter.finish(now)?;
        Ok((imported, duplicates, created))
    })?;
    report.lines += imported + duplicates;
    report.imported += imported;
    report.duplicates += duplicates;
    report.sources_created.extend(created);
    Ok(())
}
