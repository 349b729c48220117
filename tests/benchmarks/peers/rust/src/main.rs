//! A herald-bench peer: tokio-tungstenite and serde feeding rusqlite, as a
//! Rust user might write it instead of running Herald. One thread does
//! everything: read a frame, parse it, store it.
//!
//! ```text
//! herald-peer-rust --url ws://127.0.0.1:PORT/bench/ws --db FILE --source-id 1 --expected N
//! ```
//!
//! The contract is the same for every peer (tests/benchmarks/peers/README.md):
//! Herald's schema and its two INSERT statements, search text folded as
//! Herald folds it, a transaction per 1,000 rows or whenever no frame is
//! waiting, then `done N` on stdout.
//!
//! The `ntfy` crate's subscriber (0.9.1) would have been the obvious choice,
//! but its model refuses ntfy's own action frames (`"action":"view"` is an
//! unknown variant to it, and a broadcast action has no URL), so it cannot
//! store this feed. This is what its subscriber does inside, with a model
//! that keeps every field.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use rusqlite::{params, Connection};
use serde::Deserialize;
use serde_json::Value;

/// Rows per transaction at most.
const BATCH_ROWS: usize = 1000;
/// No frame for this long means nothing is waiting: commit what is pending.
const IDLE: Duration = Duration::from_millis(5);

const INSERT_MESSAGE_SQL: &str = "INSERT INTO messages (source_id, remote_id, received_at, sent_at, expires_at, topic, title, body, format, priority, raw_priority, tags, click, icon, actions, attachment, group_key, extras) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) ON CONFLICT (source_id, remote_id) DO NOTHING";
const INSERT_FTS_SQL: &str =
    "INSERT INTO messages_fts (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// An ntfy event (https://docs.ntfy.sh/subscribe/api/#json-message-format).
#[derive(Deserialize)]
struct Event {
    id: String,
    time: i64,
    event: String,
    topic: Option<String>,
    expires: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    priority: Option<i64>,
    #[serde(default)]
    tags: Vec<String>,
    click: Option<String>,
    icon: Option<String>,
    actions: Option<Value>,
    attachment: Option<Value>,
    content_type: Option<String>,
}

struct Options {
    url: String,
    db: String,
    source_id: i64,
    expected: usize,
}

fn parse_options() -> Result<Options> {
    let mut url = None;
    let mut db = None;
    let mut source_id = None;
    let mut expected = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => url = Some(value),
            "--db" => db = Some(value),
            "--source-id" => source_id = Some(value.parse()?),
            "--expected" => expected = Some(value.parse()?),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(Options {
        url: url.ok_or("--url is required")?,
        db: db.ok_or("--db is required")?,
        source_id: source_id.ok_or("--source-id is required")?,
        expected: expected.ok_or("--expected is required")?,
    })
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("herald-peer-rust: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("herald-peer-rust: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let options = parse_options()?;
    let mut connection = Connection::open(&options.db)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    println!("sqlite {}", rusqlite::version());

    let (mut stream, _) = tokio_tungstenite::connect_async(options.url.as_str()).await?;

    let mut pending: Vec<Event> = Vec::with_capacity(BATCH_ROWS);
    let mut stored = 0usize;
    while stored < options.expected {
        let next = if pending.is_empty() {
            Some(stream.next().await)
        } else {
            tokio::time::timeout(IDLE, stream.next()).await.ok()
        };
        match next {
            // Nothing waiting: commit what is pending.
            None => stored += commit(&mut connection, options.source_id, &mut pending)?,
            Some(None) => {
                return Err(format!(
                    "the server closed the connection after {} of {} messages",
                    stored + pending.len(),
                    options.expected
                )
                .into())
            }
            Some(Some(frame)) => {
                let frame = frame?;
                if !frame.is_text() {
                    continue;
                }
                let event: Event = serde_json::from_str(frame.to_text()?)?;
                if event.event == "message" {
                    pending.push(event);
                }
                if pending.len() >= BATCH_ROWS || stored + pending.len() >= options.expected {
                    stored += commit(&mut connection, options.source_id, &mut pending)?;
                }
            }
        }
    }
    println!("done {stored}");
    Ok(())
}

/// Stores the pending messages in one transaction; returns how many were new.
fn commit(connection: &mut Connection, source_id: i64, pending: &mut Vec<Event>) -> Result<usize> {
    let transaction = connection.transaction()?;
    let mut stored = 0;
    {
        let mut insert_message = transaction.prepare_cached(INSERT_MESSAGE_SQL)?;
        let mut insert_fts = transaction.prepare_cached(INSERT_FTS_SQL)?;
        let received_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
        for event in pending.drain(..) {
            let title = event.title.unwrap_or_default();
            let body = event.message.unwrap_or_default();
            let format = if event.content_type.as_deref() == Some("text/markdown") {
                "markdown"
            } else {
                "text"
            };
            let tags = (!event.tags.is_empty())
                .then(|| serde_json::to_string(&event.tags))
                .transpose()?;
            let json = |value: Option<Value>| {
                value
                    .filter(|value| !value.is_null())
                    .map(|value| value.to_string())
            };
            let inserted = insert_message.execute(params![
                source_id,
                event.id,
                received_at,
                event.time * 1000,
                event.expires.map(|expires| expires * 1000),
                event.topic,
                title,
                body,
                format,
                event.priority.unwrap_or(3).clamp(1, 5),
                event.priority,
                tags,
                event.click,
                event.icon.filter(|icon| !icon.is_empty()),
                json(event.actions),
                json(event.attachment),
                None::<String>,
                None::<String>,
            ])?;
            if inserted == 0 {
                continue;
            }
            insert_fts.execute(params![
                transaction.last_insert_rowid(),
                fold_for_index(&title),
                fold_for_index(&body),
                fold_for_index(tags.as_deref().unwrap_or("")),
            ])?;
            stored += 1;
        }
    }
    transaction.commit()?;
    Ok(stored)
}

/// Herald's search folding (src-tauri/core/src/search_text.rs), so the peer
/// builds the same index: each CJK run becomes its overlapping bigrams and
/// its last character; other text passes through.
fn fold_for_index(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_cjk) {
        return text.into();
    }
    let mut folded = String::with_capacity(text.len() * 3);
    let mut run: Vec<char> = Vec::new();
    let flush = |out: &mut String, run: &mut Vec<char>| {
        if let Some(last) = run.last().copied() {
            out.push(' ');
            for pair in run.windows(2) {
                out.extend(pair);
                out.push(' ');
            }
            out.push(last);
            out.push(' ');
        }
        run.clear();
    };
    for character in text.chars() {
        if is_cjk(character) {
            run.push(character);
        } else {
            flush(&mut folded, &mut run);
            folded.push(character);
        }
    }
    flush(&mut folded, &mut run);
    folded.into()
}

fn is_cjk(character: char) -> bool {
    matches!(character as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}
