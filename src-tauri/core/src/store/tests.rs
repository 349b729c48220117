//! Tests of the store against a real SQLite file: ingest and dedup, cursors,
//! search in English and Chinese, listing and its filters, triage, retention,
//! export/import, sources, stats and file permissions.
//!
//! Every time is a fixed number (`T0` and offsets from it); nothing here
//! reads the clock for an assertion.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, Transaction};
use serde_json::json;
use tempfile::TempDir;

use super::*;
use crate::config::{AuthPlacement, SourceConfig};
use crate::model::{
    BodyFormat, Cursor, DerivedColumns, Envelope, Message, MessageId, NewMessage, Priority,
    Protocol, SourceId,
};
use crate::search_text::Snippet;

/// A fixed "now" in Unix milliseconds (2023-11-14T22:13:20Z).
const T0: i64 = 1_700_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

// ---------------------------------------------------------------- fixture

/// A store on a fresh database file in its own temporary directory.
struct Fixture {
    // Fields drop in declaration order: the writer thread stops (and
    // checkpoints) before the runtime and the directory go away.
    store: Store,
    runtime: tokio::runtime::Runtime,
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = TempDir::new().expect("a temporary directory for the database");
        let store = Store::open(&dir.path().join("herald.db"), BatchLimits::default())
            .expect("a fresh database opens and migrates");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for ingest");
        Fixture {
            store,
            runtime,
            dir,
        }
    }

    fn read<R>(&self, read: impl FnOnce(&Connection) -> Result<R>) -> R {
        self.store
            .read(read)
            .unwrap_or_else(|error| panic!("read failed: {error}"))
    }

    fn write<R, F>(&self, job: F) -> R
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R> + Send + 'static,
    {
        self.store
            .write(job)
            .unwrap_or_else(|error| panic!("write failed: {error}"))
    }

    fn add_source(&self, name: &str) -> SourceId {
        let source = new_source(name, Protocol::Ntfy);
        self.write(move |transaction| insert_source(transaction, &source, T0))
    }

    /// Hands `batch` to the writer and waits for its report. `None` means
    /// the writer dropped the batch without reporting: its commit failed.
    fn try_ingest(&self, mut batch: IngestBatch) -> Option<IngestReport> {
        let (report_to, mut reports) = tokio::sync::mpsc::unbounded_channel();
        batch.report_to = Some(report_to);
        let store = self.store.clone();
        self.runtime.block_on(async move {
            store
                .ingest(batch)
                .await
                .expect("the writer accepts the batch");
            reports.recv().await
        })
    }

    fn ingest_batch(&self, batch: IngestBatch) -> IngestReport {
        self.try_ingest(batch)
            .expect("the writer commits the batch and reports it")
    }

    /// Ingests `envelopes` as received at `received_at`, the way the engine does.
    fn ingest(&self, envelopes: Vec<Envelope>, received_at: i64) -> IngestReport {
        self.ingest_batch(IngestBatch {
            envelopes,
            received_at,
            ..IngestBatch::default()
        })
    }

    /// Ingests messages with these `(remote_id, title, body)` and returns
    /// their ids in the same order.
    fn ingest_texts(
        &self,
        source: SourceId,
        texts: &[(&str, &str, &str)],
        received_at: i64,
    ) -> Vec<MessageId> {
        let envelopes = texts
            .iter()
            .map(|(remote_id, title, body)| envelope(source, note(remote_id, title, body)))
            .collect();
        let report = self.ingest(envelopes, received_at);
        assert_eq!(
            report.stored.len(),
            texts.len(),
            "every message in a fresh batch is new"
        );
        report.stored.iter().map(|stored| stored.id).collect()
    }

    /// Ingests `count` numbered messages `{prefix}{n}` and returns their ids, oldest first.
    fn ingest_numbered(&self, source: SourceId, prefix: &str, count: usize) -> Vec<MessageId> {
        let envelopes = (0..count)
            .map(|n| {
                envelope(
                    source,
                    note(&format!("{prefix}{n}"), &format!("message {n}"), "body"),
                )
            })
            .collect();
        let report = self.ingest(envelopes, T0);
        assert_eq!(report.stored.len(), count, "numbered messages are all new");
        report.stored.iter().map(|stored| stored.id).collect()
    }

    fn list(&self, filter: MessageFilter, now: i64) -> Vec<Message> {
        self.read(move |connection| list_messages(connection, &filter, 10_000, now))
    }

    fn list_ids(&self, filter: MessageFilter, now: i64) -> Vec<MessageId> {
        self.list(filter, now)
            .into_iter()
            .map(|message| message.id)
            .collect()
    }

    fn message(&self, id: MessageId) -> Message {
        self.read(move |connection| get_message(connection, id))
    }

    fn search(&self, query: &str, filter: MessageFilter, now: i64) -> Vec<SearchHit> {
        let query = query.to_string();
        self.read(move |connection| search(connection, &query, &filter, 100, now))
    }

    /// Ids matching `query` in the whole inbox (view All), newest first.
    fn search_ids(&self, query: &str) -> Vec<MessageId> {
        self.search(query, all(), T0)
            .into_iter()
            .map(|hit| hit.message.id)
            .collect()
    }

    fn cursor(&self, source: SourceId) -> Option<Cursor> {
        self.read(move |connection| cursor(connection, source))
    }

    fn unread(&self) -> HashMap<SourceId, u64> {
        self.read(unread_counts).into_iter().collect()
    }

    fn stats(&self) -> Stats {
        self.read(stats)
    }

    fn count_messages(&self) -> u64 {
        self.read(|connection| {
            Ok(connection.query_row("SELECT count(*) FROM messages", [], |row| row.get(0))?)
        })
    }

    /// The search index agrees with the messages table, row for row.
    fn assert_index_consistent(&self, after: &str) {
        let report = self.read(check_integrity);
        assert!(
            report.is_ok(),
            "after {after}: sqlite and the search index must pass their integrity checks: {report:?}"
        );
        assert_eq!(
            report.indexed, report.messages,
            "after {after}: every message, and nothing else, is in the search index"
        );
    }
}

fn new_source(name: &str, protocol: Protocol) -> NewSource {
    NewSource {
        name: name.to_string(),
        protocol,
        url: format!("wss://push.example.com/{name}"),
        enabled: true,
        config: SourceConfig::default(),
    }
}

fn note(remote_id: &str, title: &str, body: &str) -> NewMessage {
    NewMessage {
        remote_id: remote_id.to_string(),
        sent_at: T0 - MINUTE,
        title: title.to_string(),
        body: body.to_string(),
        ..NewMessage::default()
    }
}

/// An envelope whose cursor points at the message itself, as adapters make them.
fn envelope(source_id: SourceId, message: NewMessage) -> Envelope {
    let cursor = Cursor {
        last_id: message.remote_id.clone(),
        last_time: message.sent_at,
    };
    Envelope::new(source_id, message, cursor)
}

fn all() -> MessageFilter {
    MessageFilter {
        view: View::All,
        ..MessageFilter::default()
    }
}

fn view(view: View) -> MessageFilter {
    MessageFilter {
        view,
        ..MessageFilter::default()
    }
}

fn ids(list: &[MessageId]) -> Selection {
    Selection::Ids(list.to_vec())
}

fn remote_ids(report: &IngestReport) -> Vec<String> {
    report
        .stored
        .iter()
        .map(|stored| stored.message.remote_id.clone())
        .collect()
}

/// The text under each highlight range, so a test can check the ranges
/// point at the match and not next to it.
fn highlighted(snippet: &Snippet) -> Vec<String> {
    let characters: Vec<char> = snippet.text.chars().collect();
    snippet
        .highlights
        .iter()
        .map(|&(start, end)| characters[start..end].iter().collect())
        .collect()
}

// ------------------------------------------------------------------ dedup

#[test]
fn the_same_remote_id_ingested_twice_is_stored_once() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");

    let first = fixture.ingest(
        vec![
            envelope(source, note("r1", "one", "first")),
            envelope(source, note("r2", "two", "second")),
        ],
        T0,
    );
    assert_eq!(
        remote_ids(&first),
        ["r1", "r2"],
        "a fresh batch reports every message it stored"
    );

    let replay = fixture.ingest(
        vec![
            envelope(source, note("r2", "two again", "replayed")),
            envelope(source, note("r3", "three", "third")),
            envelope(source, note("r3", "three twice", "in one batch")),
        ],
        T0 + MINUTE,
    );
    assert_eq!(
        remote_ids(&replay),
        ["r3"],
        "a replay reports only rows that were not stored before, once each"
    );

    let stored = fixture.list(all(), T0);
    assert_eq!(
        stored.len(),
        3,
        "r1, r2 and r3 are each stored exactly once"
    );
    let r2 = stored
        .iter()
        .find(|message| message.remote_id == "r2")
        .expect("r2 is stored");
    assert_eq!(
        (r2.title.as_str(), r2.received_at),
        ("two", T0),
        "a duplicate never overwrites the stored copy"
    );
    let r3 = stored
        .iter()
        .find(|message| message.remote_id == "r3")
        .expect("r3 is stored");
    assert_eq!(
        r3.title, "three",
        "the first of two copies in one batch wins"
    );
    fixture.assert_index_consistent("ingesting duplicates");
}

#[test]
fn ingest_report_describes_the_committed_rows() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let report = fixture.ingest(vec![envelope(source, note("r1", "title", "body"))], T0);

    assert!(
        report.committed.is_some(),
        "the report is sent after the commit"
    );
    let stored = &report.stored[0];
    let message = fixture.message(stored.id);
    assert_eq!(
        (
            message.remote_id.as_str(),
            message.source_id,
            message.received_at
        ),
        ("r1", source, T0),
        "the reported id is the stored row, with the batch's received_at"
    );
    assert_eq!(
        (stored.source_id, stored.received_at),
        (source, T0),
        "the report carries the source and received_at of the row"
    );
}

#[test]
fn batches_committed_together_report_only_their_own_new_rows() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let (report_to, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let batch = |remote: &[&str], report_to| IngestBatch {
        envelopes: remote
            .iter()
            .map(|remote_id| envelope(source, note(remote_id, "t", "b")))
            .collect(),
        received_at: T0,
        report_to: Some(report_to),
        ..IngestBatch::default()
    };
    let first = batch(&["a", "b"], report_to.clone());
    let second = batch(&["b", "c"], report_to);
    let store = fixture.store.clone();
    let (one, two) = fixture.runtime.block_on(async move {
        store.ingest(first).await.expect("first batch queued");
        store.ingest(second).await.expect("second batch queued");
        let one = reports.recv().await.expect("first report");
        let two = reports.recv().await.expect("second report");
        (one, two)
    });
    let mut reported: Vec<String> = remote_ids(&one);
    reported.extend(remote_ids(&two));
    reported.sort();
    assert_eq!(
        reported,
        ["a", "b", "c"],
        "across batches in one commit window, each new row is reported exactly once"
    );
    assert_eq!(fixture.count_messages(), 3, "b is stored once");
}

#[test]
fn a_different_source_may_reuse_a_remote_id() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let backups = fixture.add_source("backups");
    let report = fixture.ingest(
        vec![
            envelope(alerts, note("42", "from alerts", "a")),
            envelope(backups, note("42", "from backups", "b")),
        ],
        T0,
    );
    assert_eq!(
        report.stored.len(),
        2,
        "dedup is per source: the same remote id from two sources is two messages"
    );
    let mut names: Vec<(String, String)> = fixture
        .list(all(), T0)
        .into_iter()
        .map(|message| (message.source_name, message.title))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("alerts".to_string(), "from alerts".to_string()),
            ("backups".to_string(), "from backups".to_string())
        ],
        "each copy belongs to its own source"
    );
}

// ---------------------------------------------------------------- cursors

#[test]
fn the_cursor_advances_with_the_messages_it_covers() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    assert_eq!(
        fixture.cursor(source),
        None,
        "a new source has no cursor, so it starts from the live feed"
    );

    let mut last = note("r3", "three", "c");
    last.sent_at = T0 + 5;
    fixture.ingest(
        vec![
            envelope(source, note("r1", "one", "a")),
            envelope(source, note("r2", "two", "b")),
            envelope(source, last),
        ],
        T0,
    );
    assert_eq!(
        fixture.cursor(source),
        Some(Cursor {
            last_id: "r3".into(),
            last_time: T0 + 5
        }),
        "once the commit is reported, the cursor is at the batch's last envelope"
    );
}

#[test]
fn a_failed_commit_moves_neither_messages_nor_cursor() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    fixture.ingest(vec![envelope(source, note("ok-1", "fine", "x"))], T0);
    let before = fixture.cursor(source);

    // Temporary triggers live on the writer's connection only; they make one
    // insert of a batch fail so the whole transaction must roll back.
    fixture.write(|transaction| {
        transaction.execute_batch(
            "CREATE TEMP TRIGGER poison_message BEFORE INSERT ON messages
                 WHEN NEW.remote_id = 'poison'
                 BEGIN SELECT RAISE(ABORT, 'poisoned message'); END;
             CREATE TEMP TRIGGER poison_cursor BEFORE UPDATE ON cursors
                 WHEN NEW.last_id = 'poison-cursor'
                 BEGIN SELECT RAISE(ABORT, 'poisoned cursor'); END;",
        )?;
        Ok(())
    });

    let failed = fixture.try_ingest(IngestBatch {
        envelopes: vec![
            envelope(source, note("ok-2", "fine", "y")),
            envelope(source, note("poison", "bad", "z")),
        ],
        received_at: T0,
        ..IngestBatch::default()
    });
    assert!(failed.is_none(), "a failed commit reports nothing");
    assert_eq!(
        fixture.cursor(source),
        before,
        "a message that failed to store must not move the cursor past it"
    );
    assert_eq!(
        fixture.count_messages(),
        1,
        "the batch rolled back as a whole: ok-2 is not stored either"
    );

    let mut poisoned_cursor = envelope(source, note("ok-3", "fine", "w"));
    poisoned_cursor.cursor.last_id = "poison-cursor".into();
    let failed = fixture.try_ingest(IngestBatch {
        envelopes: vec![poisoned_cursor],
        received_at: T0,
        ..IngestBatch::default()
    });
    assert!(failed.is_none(), "a failed cursor write fails the commit");
    assert_eq!(
        fixture.count_messages(),
        1,
        "messages whose cursor could not be saved are rolled back with it"
    );
    fixture.assert_index_consistent("a rolled-back commit");

    let recovered = fixture.ingest(vec![envelope(source, note("ok-4", "fine", "v"))], T0);
    assert_eq!(
        remote_ids(&recovered),
        ["ok-4"],
        "the writer keeps working after a failed commit"
    );
    assert_eq!(
        fixture.cursor(source).map(|cursor| cursor.last_id),
        Some("ok-4".to_string()),
        "the cursor moves again with the next good commit"
    );
}

#[test]
fn deleting_or_pruning_messages_never_rewinds_the_cursor() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    fixture.ingest_numbered(source, "m", 5);
    let cursor = fixture.cursor(source).expect("ingest set a cursor");
    assert_eq!(cursor.last_id, "m4");

    let deleted = fixture.write(|transaction| delete_messages(transaction, &Selection::All));
    assert_eq!(deleted, 5, "every message is deleted");
    assert_eq!(
        fixture.cursor(source),
        Some(cursor.clone()),
        "deleting messages keeps the cursor, so they are not fetched again"
    );

    fixture.ingest_numbered(source, "n", 3);
    let cursor = fixture.cursor(source).expect("cursor after more ingest");
    let pruned = fixture.write(|transaction| {
        prune(
            transaction,
            &Retention {
                max_age_days: Some(1),
                max_per_source: Some(0),
            },
            T0 + 10 * DAY,
        )
    });
    assert_eq!(pruned, 3, "retention removed every message");
    assert_eq!(
        fixture.cursor(source),
        Some(cursor),
        "pruning keeps the cursor too"
    );
}

#[test]
fn counts_follow_every_change_to_the_messages() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let orders = fixture.add_source("orders");
    let alert_ids = fixture.ingest_numbered(alerts, "a", 5);
    fixture.ingest_numbered(orders, "o", 3);
    let totals = |fixture: &Fixture| {
        let stats = fixture.stats();
        let per_source: Vec<(u64, u64)> = stats
            .sources
            .iter()
            .map(|source| (source.stored, source.unread))
            .collect();
        (per_source, stats.totals.stored, stats.totals.unread)
    };
    assert_eq!(totals(&fixture), (vec![(5, 5), (3, 3)], 8, 8));

    let (first, first_two) = (ids(&alert_ids[..1]), ids(&alert_ids[..2]));
    fixture.write(move |transaction| set_read(transaction, &first_two, true));
    let again = first.clone();
    fixture.write(move |transaction| set_read(transaction, &again, true));
    assert_eq!(
        totals(&fixture),
        (vec![(5, 3), (3, 3)], 8, 6),
        "marking read twice counts once"
    );
    assert_eq!(fixture.unread(), HashMap::from([(alerts, 3), (orders, 3)]));

    fixture.write(move |transaction| set_read(transaction, &first, false));
    let second_and_third = ids(&alert_ids[1..3]);
    fixture.write(move |transaction| delete_messages(transaction, &second_and_third));
    assert_eq!(totals(&fixture), (vec![(3, 3), (3, 3)], 6, 6));

    fixture.write(move |transaction| remove_source(transaction, orders, true, T0));
    assert_eq!(
        totals(&fixture),
        (vec![(3, 3)], 6, 6),
        "a removed source's kept history still counts in the totals"
    );
    fixture.write(move |transaction| remove_source(transaction, alerts, false, T0));
    assert_eq!(totals(&fixture), (vec![], 3, 3));
    fixture.write(|transaction| set_read(transaction, &Selection::All, true));
    assert_eq!(totals(&fixture), (vec![], 3, 0));
    fixture.assert_index_consistent("every kind of change");

    fixture.write(|transaction| {
        transaction.execute("UPDATE message_counts SET unread = unread + 2", [])?;
        Ok(())
    });
    let report = fixture.read(check_integrity);
    assert!(!report.is_ok(), "check notices totals that drifted");
    assert!(
        report
            .counts
            .contains("3 stored and 2 unread kept, 3 and 0 counted"),
        "{report:?}"
    );
}

// -------------------------------------------------------- unknown sources

#[test]
fn envelopes_for_a_missing_source_are_dropped_without_failing_the_batch() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let ghost = SourceId(9_999);
    let report = fixture.ingest_batch(IngestBatch {
        envelopes: vec![
            envelope(source, note("a1", "kept", "x")),
            envelope(ghost, note("g1", "dropped", "y")),
            envelope(source, note("a2", "kept", "z")),
        ],
        counters: HashMap::from([(
            ghost,
            FrameCounters {
                frames_received: 1,
                ..FrameCounters::default()
            },
        )]),
        states: HashMap::from([(
            ghost,
            StateRecord {
                state: "connected",
                since: Some(T0),
                retry_at: None,
                attempts: 0,
            },
        )]),
        received_at: T0,
        ..IngestBatch::default()
    });
    assert_eq!(
        remote_ids(&report),
        ["a1", "a2"],
        "the other source's messages commit; the unknown source's are dropped"
    );
    assert_eq!(
        fixture.count_messages(),
        2,
        "nothing is stored for a missing source"
    );
    assert_eq!(
        fixture.cursor(ghost),
        None,
        "no cursor for a missing source"
    );
    assert_eq!(
        fixture.cursor(source).map(|cursor| cursor.last_id),
        Some("a2".to_string()),
        "the real source's cursor still advances"
    );
    let stat_rows: u64 = fixture.read(move |connection| {
        Ok(connection.query_row(
            "SELECT count(*) FROM source_stats WHERE source_id = ?1",
            [ghost.0],
            |row| row.get(0),
        )?)
    });
    assert_eq!(
        stat_rows, 0,
        "counters and states of a missing source are not recorded"
    );
}

#[test]
fn envelopes_for_a_removed_source_are_dropped() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    fixture.ingest(vec![envelope(source, note("a1", "before", "x"))], T0);
    fixture.write(move |transaction| remove_source(transaction, source, true, T0));

    // Messages still queued when the source was removed arrive afterwards.
    let report = fixture.ingest(vec![envelope(source, note("a2", "late", "y"))], T0);
    assert!(
        report.stored.is_empty(),
        "a removed source does not exist any more: its late messages are dropped"
    );
    assert_eq!(
        fixture.cursor(source),
        None,
        "a removed source must not get its cursor back"
    );
    assert_eq!(
        fixture.count_messages(),
        1,
        "only the history from before the removal is kept"
    );
}

// ----------------------------------------------------------------- search

/// Messages in English and Chinese; returns their ids by a short name.
fn search_corpus(fixture: &Fixture) -> HashMap<&'static str, MessageId> {
    let source = fixture.add_source("alerts");
    let names = [
        "deploy", "backup", "report", "tagged", "stock", "order", "storage",
    ];
    let texts = [
        ("d1", "Deployment finished", "api-7 is live on prod"),
        ("b1", "Backup FAILED", "The NAS backup job failed at 03:00"),
        ("w1", "Weekly report", "nothing to deploy this week"),
        ("t1", "Cluster note", "see tags"),
        ("c1", "仓库 A3 库存告警", "SKU-1142 低于安全线,请尽快补货"),
        ("c2", "订单A12已发货", "顺丰快递 SF1234"),
        ("c3", "仓储系统维护", "今晚 22:00 停机"),
    ];
    let mut envelopes: Vec<Envelope> = texts
        .iter()
        .map(|(remote_id, title, body)| envelope(source, note(remote_id, title, body)))
        .collect();
    envelopes[3].message.tags = vec!["kubernetes".into()];
    // The derived columns are prepared when an envelope is made; redo them.
    envelopes[3].derived = DerivedColumns::new(&envelopes[3].message);
    let report = fixture.ingest(envelopes, T0);
    names
        .into_iter()
        .zip(report.stored.iter().map(|stored| stored.id))
        .collect()
}

fn as_set(list: Vec<MessageId>) -> HashSet<MessageId> {
    list.into_iter().collect()
}

#[test]
fn search_english_is_case_insensitive_and_prefixes_on_request() {
    let fixture = Fixture::new();
    let ids = search_corpus(&fixture);
    assert_eq!(
        as_set(fixture.search_ids("deplo*")),
        HashSet::from([ids["deploy"], ids["report"]]),
        "a word ending in * matches as a prefix: deplo* finds Deployment and deploy"
    );
    assert!(
        fixture.search_ids("deplo").is_empty(),
        "without * a word matches whole words only"
    );
    assert_eq!(
        fixture.search_ids("DEPLOYMENT"),
        [ids["deploy"]],
        "case does not matter"
    );
    assert_eq!(
        fixture.search_ids("failed"),
        [ids["backup"]],
        "FAILED in a title and failed in a body are one hit for one message"
    );
    assert_eq!(
        fixture.search_ids("nas backup fail*"),
        [ids["backup"]],
        "every word must match, in any field"
    );
    assert!(
        fixture.search_ids("backup deploy").is_empty(),
        "words are ANDed: no message has both"
    );
    assert_eq!(
        fixture.search_ids("kubern*"),
        [ids["tagged"]],
        "tags are searchable"
    );
}

#[test]
fn search_chinese_two_character_words_inside_longer_runs() {
    let fixture = Fixture::new();
    let ids = search_corpus(&fixture);
    assert_eq!(
        fixture.search_ids("库存"),
        [ids["stock"]],
        "库存 is found inside the run 库存告警"
    );
    assert_eq!(
        fixture.search_ids("发货"),
        [ids["order"]],
        "发货 is found at the end of the run 已发货 after Latin text"
    );
    assert_eq!(
        fixture.search_ids("补货"),
        [ids["stock"]],
        "the body is searched too"
    );
    assert!(
        fixture.search_ids("库告").is_empty(),
        "two characters that are not adjacent do not match"
    );
    assert!(
        fixture.search_ids("存库").is_empty(),
        "reversed characters do not match"
    );
}

#[test]
fn search_chinese_single_character() {
    let fixture = Fixture::new();
    let ids = search_corpus(&fixture);
    assert_eq!(
        fixture.search_ids("库"),
        [ids["stock"]],
        "库 finds 仓库 and 库存 but not 仓储"
    );
    assert_eq!(
        as_set(fixture.search_ids("仓")),
        HashSet::from([ids["stock"], ids["storage"]]),
        "仓 at the start of a run finds both messages"
    );
    assert_eq!(
        fixture.search_ids("货"),
        [ids["order"], ids["stock"]],
        "a character that ends a run (发货, 补货) is found too, newest first"
    );
}

#[test]
fn search_chinese_four_character_query() {
    let fixture = Fixture::new();
    let ids = search_corpus(&fixture);
    assert_eq!(
        fixture.search_ids("库存告警"),
        [ids["stock"]],
        "a four-character query matches where the characters appear in a row"
    );
    assert!(
        fixture.search_ids("告警库存").is_empty(),
        "the same characters in another order do not match"
    );
    assert_eq!(
        fixture.search_ids("仓储系统"),
        [ids["storage"]],
        "a four-character prefix of a longer run matches"
    );
}

#[test]
fn search_mixed_chinese_and_latin() {
    let fixture = Fixture::new();
    let ids = search_corpus(&fixture);
    assert_eq!(
        fixture.search_ids("订单A12"),
        [ids["order"]],
        "Chinese followed by Latin in one word matches both parts"
    );
    assert_eq!(
        fixture.search_ids("订单 a12"),
        [ids["order"]],
        "the Latin part is case-insensitive"
    );
    assert_eq!(
        fixture.search_ids("A3 库存"),
        [ids["stock"]],
        "Latin then Chinese words"
    );
    assert!(
        fixture.search_ids("订单A13").is_empty(),
        "a different number after the Chinese does not match"
    );
}

#[test]
fn search_for_something_absent_finds_nothing() {
    let fixture = Fixture::new();
    search_corpus(&fixture);
    assert!(
        fixture.search_ids("zebra").is_empty(),
        "an English word that is nowhere finds nothing"
    );
    assert!(
        fixture.search_ids("退款").is_empty(),
        "a Chinese word that is nowhere finds nothing"
    );
    assert_eq!(
        fixture.read(|connection| count_search(connection, "zebra")),
        0,
        "the result count agrees"
    );
}

#[test]
fn search_with_only_punctuation_returns_nothing() {
    let fixture = Fixture::new();
    search_corpus(&fixture);
    for query in ["", "   ", "...", " !! ?? ", "\"", "*", "-:"] {
        assert!(
            fixture.search_ids(query).is_empty(),
            "{query:?} has nothing searchable: no results and no FTS syntax error"
        );
        assert_eq!(
            fixture.read(move |connection| count_search(connection, query)),
            0,
            "{query:?} counts no results"
        );
    }
}

#[test]
fn search_quotes_and_operators_are_taken_literally() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let found = fixture.ingest_texts(
        source,
        &[("q1", "say \"hi\" OR NOT", "AND NEAR(x) col:umn")],
        T0,
    );
    for query in ["\"hi\"", "OR", "NOT", "NEAR(x", "col:umn", "say \"hi"] {
        assert_eq!(
            fixture.search_ids(query),
            found,
            "{query:?} is searched as text, never as FTS5 syntax"
        );
    }
}

#[test]
fn search_returns_newest_first() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let mut expected = Vec::new();
    for n in 0..5 {
        let id = fixture.ingest_texts(
            source,
            &[(&format!("r{n}"), &format!("report {n}"), "daily report")],
            T0 + n * MINUTE,
        );
        expected.extend(id);
    }
    expected.reverse();
    assert_eq!(
        fixture.search_ids("report"),
        expected,
        "results are newest first"
    );
    let top = fixture.read(|connection| search(connection, "report", &all(), 2, T0));
    assert_eq!(
        top.iter().map(|hit| hit.message.id).collect::<Vec<_>>(),
        expected[..2],
        "a limit keeps the newest"
    );
    assert_eq!(
        fixture.read(|connection| count_search(connection, "report")),
        5,
        "the count covers every match"
    );
}

#[test]
fn search_snippets_highlight_the_matched_text() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    fixture.ingest_texts(
        source,
        &[
            (
                "e1",
                "Deployment finished",
                "The deployment of api-7 to prod finished; DEPLOYMENT took 4m.",
            ),
            (
                "z1",
                "仓库 A3 库存告警",
                "仓库 A3 的库存告警:SKU-1142 库存低于安全线",
            ),
            ("z2", "订单A12已发货", "订单 a12 明天到"),
        ],
        T0,
    );

    let hits = fixture.search("deplo*", all(), T0);
    assert_eq!(hits.len(), 1, "one English message matches");
    assert_eq!(
        hits[0].title.marked("[", "]"),
        "[Deplo]yment finished",
        "the title snippet marks what the prefix query matched"
    );
    assert_eq!(
        hits[0].snippet.marked("[", "]"),
        "The [deplo]yment of api-7 to prod finished; [DEPLO]YMENT took 4m.",
        "every occurrence in the body is marked, in its own case"
    );
    for text in highlighted(&hits[0].snippet)
        .iter()
        .chain(&highlighted(&hits[0].title))
    {
        assert!(
            text.to_lowercase().starts_with("deplo"),
            "each highlight range points at the matched text, got {text:?}"
        );
    }

    let hits = fixture.search("库存", all(), T0);
    assert_eq!(hits.len(), 1, "one Chinese message matches 库存");
    assert_eq!(
        hits[0].title.marked("[", "]"),
        "仓库 A3 [库存]告警",
        "the Chinese title marks 库存 by characters, not bytes"
    );
    assert_eq!(
        hits[0].snippet.marked("[", "]"),
        "仓库 A3 的[库存]告警:SKU-1142 [库存]低于安全线",
        "both occurrences in the body are marked"
    );
    assert_eq!(
        highlighted(&hits[0].snippet),
        ["库存", "库存"],
        "highlight ranges cover exactly the matched characters"
    );

    let hits = fixture.search("订单A12", all(), T0);
    assert_eq!(hits.len(), 1, "one message matches the mixed query");
    assert_eq!(
        hits[0].title.marked("[", "]"),
        "[订单][A12]已发货",
        "both parts of a mixed query are marked"
    );
    assert_eq!(
        hits[0].snippet.marked("[", "]"),
        "[订单] [a12] 明天到",
        "the Latin part is marked regardless of case"
    );
}

#[test]
fn markdown_bodies_are_excerpted_as_read() {
    let fixture = Fixture::new();
    let source = fixture.add_source("orders");
    let mut message = note(
        "m1",
        "订单超时",
        "订单 **#10485** 已付款 **26 小时**,见 [详情](https://shop.example/10485)",
    );
    message.format = crate::model::BodyFormat::Markdown;
    fixture.ingest(vec![envelope(source, message)], T0);
    let hits = fixture.search("小时", all(), T0);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].snippet.marked("[", "]"),
        "订单 #10485 已付款 26 [小时],见 详情",
        "no markdown syntax around the match"
    );
}

#[test]
fn search_respects_the_message_filter() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let with_priority = |remote_id: &str, title: &str, priority: Priority| {
        let mut message = note(remote_id, title, "disk full");
        message.priority = priority;
        message
    };
    let report = fixture.ingest(
        vec![
            envelope(alerts, with_priority("a1", "db-1", Priority::URGENT)),
            envelope(alerts, with_priority("a2", "db-2", Priority::LOW)),
            envelope(web, with_priority("w1", "web-1", Priority::HIGH)),
            envelope(web, with_priority("w2", "web-2", Priority::DEFAULT)),
        ],
        T0,
    );
    let [db1, db2, web1, web2] = [0, 1, 2, 3].map(|index| report.stored[index].id);
    fixture.write(move |transaction| {
        set_archived(transaction, &ids(&[db2]), true, T0)?;
        set_starred(transaction, &ids(&[web1]), true)?;
        snooze(transaction, &ids(&[web2]), Some(T0 + HOUR))
    });

    let found = |filter: MessageFilter, now: i64| -> Vec<MessageId> {
        fixture
            .search("disk", filter, now)
            .into_iter()
            .map(|hit| hit.message.id)
            .collect()
    };
    assert_eq!(
        found(MessageFilter::default(), T0),
        [web1, db1],
        "the default (Inbox) view hides archived and snoozed matches"
    );
    assert_eq!(
        found(MessageFilter::default(), T0 + HOUR),
        [web2, web1, db1],
        "a snoozed match comes back when its snooze ends"
    );
    assert_eq!(
        found(all(), T0),
        [web2, web1, db2, db1],
        "view All finds every match"
    );
    assert_eq!(found(view(View::Archived), T0), [db2], "view Archived");
    assert_eq!(found(view(View::Starred), T0), [web1], "view Starred");
    assert_eq!(
        found(
            MessageFilter {
                source: Some(alerts),
                ..all()
            },
            T0
        ),
        [db2, db1],
        "the source filter keeps one source's matches"
    );
    assert_eq!(
        found(
            MessageFilter {
                min_priority: Some(Priority::HIGH),
                ..all()
            },
            T0
        ),
        [web1, db1],
        "min_priority keeps matches at or above it"
    );
    assert_eq!(
        found(
            MessageFilter {
                source: Some(web),
                min_priority: Some(Priority::URGENT),
                ..all()
            },
            T0
        ),
        Vec::<MessageId>::new(),
        "filters combine"
    );
}

// ---------------------------------------------------------- list_messages

#[test]
fn keyset_pagination_walks_every_message_once_newest_first() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let mut every = Vec::new();
    for round in 0..4 {
        every.extend(fixture.ingest_numbered(alerts, &format!("a{round}-"), 7));
        every.extend(fixture.ingest_numbered(web, &format!("w{round}-"), 5));
    }
    every.sort();
    every.reverse();

    let mut walked = Vec::new();
    let mut before = None;
    for _ in 0..every.len() {
        let page = fixture.read(move |connection| {
            list_messages(connection, &MessageFilter { before, ..all() }, 10, T0)
        });
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 10, "a page never exceeds its limit");
        before = page.last().map(|message| message.id);
        walked.extend(page.into_iter().map(|message| message.id));
    }
    assert_eq!(
        walked, every,
        "pages cover every message exactly once, newest first, across sources"
    );
}

#[test]
fn inbox_hides_archived_and_snoozed_until_the_snooze_ends() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let [plain, archived, snoozed] =
        <[MessageId; 3]>::try_from(fixture.ingest_numbered(source, "m", 3)).expect("three ids");
    fixture.write(move |transaction| {
        set_archived(transaction, &ids(&[archived]), true, T0)?;
        snooze(transaction, &ids(&[snoozed]), Some(T0 + HOUR))
    });

    let inbox = |now| fixture.list_ids(MessageFilter::default(), now);
    assert_eq!(
        inbox(T0),
        [plain],
        "the inbox hides archived messages and messages still snoozed"
    );
    assert_eq!(
        inbox(T0 + HOUR - 1),
        [plain],
        "a snooze lasts until its end"
    );
    assert_eq!(
        inbox(T0 + HOUR),
        [snoozed, plain],
        "a snoozed message is back once now reaches snoozed_until"
    );
    assert_eq!(
        inbox(T0 + 2 * HOUR),
        [snoozed, plain],
        "and stays back later, without anyone clearing the snooze"
    );
}

#[test]
fn views_unread_starred_archived_and_all() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let [read, starred, archived, snoozed, fresh] =
        <[MessageId; 5]>::try_from(fixture.ingest_numbered(source, "m", 5)).expect("five ids");
    fixture.write(move |transaction| {
        set_read(transaction, &ids(&[read]), true)?;
        set_starred(transaction, &ids(&[starred]), true)?;
        set_archived(transaction, &ids(&[archived]), true, T0)?;
        snooze(transaction, &ids(&[snoozed]), Some(T0 + HOUR))
    });

    assert_eq!(
        fixture.list_ids(view(View::Unread), T0),
        [fresh, starred],
        "Unread: not read, not archived, not snoozed"
    );
    assert_eq!(
        fixture.list_ids(view(View::Unread), T0 + HOUR),
        [fresh, snoozed, starred],
        "Unread shows a message whose snooze has ended"
    );
    assert_eq!(
        fixture.list_ids(view(View::Starred), T0),
        [starred],
        "Starred"
    );
    assert_eq!(
        fixture.list_ids(view(View::Archived), T0),
        [archived],
        "Archived"
    );
    assert_eq!(
        fixture.list_ids(all(), T0),
        [fresh, snoozed, archived, starred, read],
        "All includes snoozed and archived messages"
    );
    assert_eq!(
        fixture.list_ids(MessageFilter::default(), T0),
        [fresh, starred, read],
        "Inbox includes read messages"
    );
}

#[test]
fn list_filters_by_source_and_min_priority() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let at = |source, remote_id: &str, priority| {
        let mut message = note(remote_id, "t", "b");
        message.priority = priority;
        envelope(source, message)
    };
    let report = fixture.ingest(
        vec![
            at(alerts, "a1", Priority::MIN),
            at(alerts, "a2", Priority::HIGH),
            at(web, "w1", Priority::URGENT),
            at(web, "w2", Priority::DEFAULT),
        ],
        T0,
    );
    let [a1, a2, w1, w2] = [0, 1, 2, 3].map(|index| report.stored[index].id);

    assert_eq!(
        fixture.list_ids(
            MessageFilter {
                source: Some(alerts),
                ..all()
            },
            T0
        ),
        [a2, a1],
        "the source filter keeps that source's messages only"
    );
    assert_eq!(
        fixture.list_ids(
            MessageFilter {
                min_priority: Some(Priority::DEFAULT),
                ..all()
            },
            T0
        ),
        [w2, w1, a2],
        "min_priority is inclusive"
    );
    assert_eq!(
        fixture.list_ids(
            MessageFilter {
                source: Some(web),
                min_priority: Some(Priority::HIGH),
                ..all()
            },
            T0
        ),
        [w1],
        "source and priority combine"
    );
    let names: Vec<String> = fixture
        .list(
            MessageFilter {
                source: Some(web),
                ..all()
            },
            T0,
        )
        .into_iter()
        .map(|message| message.source_name)
        .collect();
    assert_eq!(names, ["web", "web"], "rows carry their source's name");
}

#[test]
fn list_filters_by_tag() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let tagged = |remote_id: &str, tags: &[&str]| {
        let mut message = note(remote_id, "t", "b");
        message.tags = tags.iter().map(|tag| tag.to_string()).collect();
        envelope(source, message)
    };
    let report = fixture.ingest(
        vec![
            tagged("m1", &["disk", "prod"]),
            tagged("m2", &["diskio"]),
            tagged("m3", &[]),
            tagged("m4", &["prod", "库存"]),
        ],
        T0,
    );
    let [m1, _m2, _m3, m4] = [0, 1, 2, 3].map(|index| report.stored[index].id);

    let raw: Option<String> = fixture.read(move |connection| {
        Ok(
            connection.query_row("SELECT tags FROM messages WHERE id = ?1", [m1.0], |row| {
                row.get(0)
            })?,
        )
    });
    assert_eq!(
        raw.as_deref(),
        Some(r#"["disk","prod"]"#),
        "tags are stored as a JSON array"
    );

    let with_tag = |tag: &str| {
        fixture.list_ids(
            MessageFilter {
                tag: Some(tag.to_string()),
                ..all()
            },
            T0,
        )
    };
    assert_eq!(
        with_tag("disk"),
        [m1],
        "a tag matches whole tags only, not diskio"
    );
    assert_eq!(with_tag("prod"), [m4, m1], "any position in the array");
    assert_eq!(with_tag("库存"), [m4], "Chinese tags");
    assert!(with_tag("dis").is_empty(), "no partial tag matches");
    assert_eq!(
        fixture.message(m1).tags,
        ["disk", "prod"],
        "tags read back in order"
    );
}

#[test]
fn list_filters_by_received_at_range() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let mut by_minute = Vec::new();
    for minute in 0..4 {
        let id = fixture.ingest_texts(
            source,
            &[(&format!("m{minute}"), "t", "b")],
            T0 + minute * MINUTE,
        );
        by_minute.extend(id);
    }
    let range = |since: Option<i64>, until: Option<i64>| {
        fixture.list_ids(
            MessageFilter {
                since,
                until,
                ..all()
            },
            T0,
        )
    };
    assert_eq!(
        range(Some(T0 + MINUTE), None),
        [by_minute[3], by_minute[2], by_minute[1]],
        "since is inclusive"
    );
    assert_eq!(
        range(None, Some(T0 + 2 * MINUTE)),
        [by_minute[1], by_minute[0]],
        "until is exclusive"
    );
    assert_eq!(
        range(Some(T0 + MINUTE), Some(T0 + 3 * MINUTE)),
        [by_minute[2], by_minute[1]],
        "since and until combine into a half-open range"
    );
    assert!(
        range(Some(T0 + 10 * MINUTE), None).is_empty(),
        "nothing after the last message"
    );
}

// ----------------------------------------------------------------- triage

#[test]
fn set_read_by_ids_source_and_all_updates_unread_counts() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let a = fixture.ingest_numbered(alerts, "a", 3);
    let w = fixture.ingest_numbered(web, "w", 2);
    assert_eq!(
        fixture.unread(),
        HashMap::from([(alerts, 3), (web, 2)]),
        "new messages are unread"
    );

    let selection = ids(&[a[0], w[0]]);
    let changed = fixture.write(move |transaction| set_read(transaction, &selection, true));
    assert_eq!(changed, 2, "two messages marked read");
    assert!(fixture.message(a[0]).read, "a[0] is read");
    assert!(!fixture.message(a[1]).read, "a[1] is untouched");
    assert_eq!(
        fixture.unread(),
        HashMap::from([(alerts, 2), (web, 1)]),
        "unread counts follow marking by id"
    );
    let selection = ids(&[a[0], w[0]]);
    let again = fixture.write(move |transaction| set_read(transaction, &selection, true));
    assert_eq!(again, 0, "marking read messages read changes nothing");

    let changed =
        fixture.write(move |transaction| set_read(transaction, &Selection::Source(alerts), true));
    assert_eq!(changed, 2, "the rest of the source is marked read");
    assert_eq!(
        fixture.unread(),
        HashMap::from([(web, 1)]),
        "a source with nothing unread drops out of the counts"
    );

    let changed = fixture.write(|transaction| set_read(transaction, &Selection::All, false));
    assert_eq!(changed, 4, "all read messages are marked unread");
    assert_eq!(
        fixture.unread(),
        HashMap::from([(alerts, 3), (web, 2)]),
        "everything unread again"
    );

    let changed = fixture.write(|transaction| set_read(transaction, &Selection::All, true));
    assert_eq!(changed, 5, "everything marked read");
    assert!(fixture.unread().is_empty(), "no unread counts are left");
    assert!(
        fixture.list_ids(view(View::Unread), T0).is_empty(),
        "the Unread view is empty"
    );
}

#[test]
fn set_starred_marks_and_unmarks() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let m = fixture.ingest_numbered(source, "m", 3);
    let selection = ids(&[m[1]]);
    let changed = fixture.write(move |transaction| set_starred(transaction, &selection, true));
    assert_eq!(changed, 1, "one message starred");
    assert!(
        fixture.message(m[1]).starred,
        "the message reads back starred"
    );
    assert_eq!(
        fixture.list_ids(view(View::Starred), T0),
        [m[1]],
        "the Starred view shows it"
    );

    let changed = fixture
        .write(move |transaction| set_starred(transaction, &Selection::Source(source), false));
    assert_eq!(changed, 1, "only the starred message changes");
    assert!(
        fixture.list_ids(view(View::Starred), T0).is_empty(),
        "unstarring empties the Starred view"
    );
}

#[test]
fn snooze_hides_until_its_time_and_none_wakes_it() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let m = fixture.ingest_numbered(source, "m", 2);
    let selection = ids(&[m[0]]);
    let changed =
        fixture.write(move |transaction| snooze(transaction, &selection, Some(T0 + HOUR)));
    assert_eq!(changed, 1, "one message snoozed");
    assert_eq!(
        fixture.message(m[0]).snoozed_until,
        Some(T0 + HOUR),
        "snoozed_until is stored"
    );
    assert_eq!(
        fixture.list_ids(MessageFilter::default(), T0),
        [m[1]],
        "a snoozed message leaves the inbox"
    );
    assert_eq!(
        fixture.list_ids(all(), T0),
        [m[1], m[0]],
        "but stays in All"
    );

    let selection = ids(&[m[0]]);
    fixture.write(move |transaction| snooze(transaction, &selection, None));
    assert_eq!(
        fixture.message(m[0]).snoozed_until,
        None,
        "waking clears the snooze"
    );
    assert_eq!(
        fixture.list_ids(MessageFilter::default(), T0),
        [m[1], m[0]],
        "a woken message is back in the inbox at once"
    );
}

#[test]
fn archiving_marks_read_and_unarchiving_returns_to_the_inbox() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let m = fixture.ingest_numbered(source, "m", 3);
    let selection = ids(&[m[0], m[1]]);
    let changed = fixture.write(move |transaction| set_archived(transaction, &selection, true, T0));
    assert_eq!(changed, 2, "two messages archived");
    for id in [m[0], m[1]] {
        let message = fixture.message(id);
        assert_eq!(
            message.archived_at,
            Some(T0),
            "archived_at is the given now"
        );
        assert!(message.read, "archiving marks the message read");
    }
    assert_eq!(
        fixture.unread(),
        HashMap::from([(source, 1)]),
        "archived messages no longer count as unread"
    );
    assert_eq!(
        fixture.list_ids(MessageFilter::default(), T0),
        [m[2]],
        "archived messages leave the inbox"
    );
    assert_eq!(
        fixture.list_ids(view(View::Archived), T0),
        [m[1], m[0]],
        "and show in Archived"
    );

    let selection = ids(&[m[0], m[1]]);
    let again =
        fixture.write(move |transaction| set_archived(transaction, &selection, true, T0 + HOUR));
    assert_eq!(again, 0, "archiving again changes nothing");
    assert_eq!(
        fixture.message(m[0]).archived_at,
        Some(T0),
        "archiving again keeps the first archive time"
    );

    let selection = ids(&[m[0]]);
    let changed =
        fixture.write(move |transaction| set_archived(transaction, &selection, false, T0 + HOUR));
    assert_eq!(changed, 1, "one message unarchived");
    let message = fixture.message(m[0]);
    assert_eq!(message.archived_at, None, "unarchiving clears archived_at");
    assert!(message.read, "unarchiving leaves the message read");
    assert_eq!(
        fixture.list_ids(MessageFilter::default(), T0 + HOUR),
        [m[2], m[0]],
        "an unarchived message is back in the inbox"
    );
}

#[test]
fn delete_messages_keeps_the_search_index_consistent() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let a = fixture.ingest_texts(
        alerts,
        &[
            ("a1", "Disk full on db-1", "库存告警"),
            ("a2", "Disk full on db-2", "仓库 A3"),
            ("a3", "Backup done", "all good"),
        ],
        T0,
    );
    let w = fixture.ingest_texts(
        web,
        &[
            ("w1", "Disk full on web-1", "nginx"),
            ("w2", "Deploy", "api"),
        ],
        T0,
    );
    fixture.assert_index_consistent("ingest");

    let selection = ids(&[a[0]]);
    let deleted = fixture.write(move |transaction| delete_messages(transaction, &selection));
    assert_eq!(deleted, 1, "one message deleted by id");
    fixture.assert_index_consistent("deleting by id");
    assert_eq!(
        fixture.search_ids("disk"),
        [w[0], a[1]],
        "a deleted message no longer matches"
    );
    assert!(
        fixture.search_ids("库存").is_empty(),
        "its Chinese text is gone from the index too"
    );
    assert!(
        matches!(
            fixture.store.read({
                let gone = a[0];
                move |connection| get_message(connection, gone)
            }),
            Err(StoreError::NotFound { .. })
        ),
        "a deleted message cannot be fetched"
    );

    let deleted =
        fixture.write(move |transaction| delete_messages(transaction, &Selection::Source(web)));
    assert_eq!(deleted, 2, "a source's messages deleted");
    fixture.assert_index_consistent("deleting by source");
    assert_eq!(
        fixture.search_ids("disk"),
        [a[1]],
        "the source's messages no longer match"
    );
    assert!(
        fixture.search_ids("deploy").is_empty(),
        "nothing of the deleted source is left in the index"
    );

    let deleted = fixture.write(|transaction| delete_messages(transaction, &Selection::All));
    assert_eq!(deleted, 2, "the rest deleted");
    fixture.assert_index_consistent("deleting everything");
    assert!(
        fixture.search_ids("仓库").is_empty() && fixture.search_ids("backup").is_empty(),
        "an empty inbox matches nothing"
    );
}

#[test]
fn selections_of_more_than_a_thousand_ids_work() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let m = fixture.ingest_numbered(source, "m", 2_500);

    let selection = ids(&m);
    let changed = fixture.write(move |transaction| set_read(transaction, &selection, true));
    assert_eq!(
        changed, 2_500,
        "set_read reaches every id of a large selection"
    );
    assert!(fixture.unread().is_empty(), "no message is left unread");

    let selection = ids(&m);
    let changed = fixture.write(move |transaction| set_starred(transaction, &selection, true));
    assert_eq!(changed, 2_500, "set_starred reaches every id");

    let selection = ids(&m);
    let changed =
        fixture.write(move |transaction| snooze(transaction, &selection, Some(T0 + HOUR)));
    assert_eq!(changed, 2_500, "snooze reaches every id");

    let selection = ids(&m);
    let changed = fixture.write(move |transaction| set_archived(transaction, &selection, true, T0));
    assert_eq!(changed, 2_500, "set_archived reaches every id");

    let doomed = m[..1_500].to_vec();
    let selection = Selection::Ids(doomed);
    let deleted = fixture.write(move |transaction| delete_messages(transaction, &selection));
    assert_eq!(
        deleted, 1_500,
        "delete reaches every id of a large selection"
    );
    assert_eq!(fixture.count_messages(), 1_000, "exactly the rest remain");
    fixture.assert_index_consistent("deleting 1500 ids");
    assert_eq!(
        fixture.search_ids("message").len(),
        100,
        "the survivors are still searchable (search caps at its limit)"
    );
    let remaining = fixture.read(|connection| count_search(connection, "message"));
    assert_eq!(
        remaining, 1_000,
        "the index holds exactly the surviving messages"
    );
}

// ------------------------------------------------------------------ prune

#[test]
fn prune_by_age_keeps_starred_messages() {
    let fixture = Fixture::new();
    let source = fixture.add_source("alerts");
    let mut at = HashMap::new();
    for (name, received_at) in [
        ("ten_days", T0 - 10 * DAY),
        ("ten_days_starred", T0 - 10 * DAY),
        ("eight_days", T0 - 8 * DAY),
        ("cutoff", T0 - 7 * DAY),
        ("two_days", T0 - 2 * DAY),
        ("now", T0),
    ] {
        let id = fixture.ingest_texts(source, &[(name, name, "old news")], received_at);
        at.insert(name, id[0]);
    }
    let starred = at["ten_days_starred"];
    fixture.write(move |transaction| set_starred(transaction, &ids(&[starred]), true));

    let pruned = fixture.write(|transaction| {
        prune(
            transaction,
            &Retention {
                max_age_days: Some(7),
                max_per_source: None,
            },
            T0,
        )
    });
    assert_eq!(pruned, 2, "the two unstarred messages older than 7 days go");
    assert_eq!(
        as_set(fixture.list_ids(all(), T0)),
        HashSet::from([
            at["ten_days_starred"],
            at["cutoff"],
            at["two_days"],
            at["now"]
        ]),
        "starred messages are kept whatever their age; a message exactly 7 days old is kept"
    );
    fixture.assert_index_consistent("pruning by age");
    assert_eq!(
        fixture.search_ids("old").len(),
        4,
        "pruned messages are gone from search"
    );

    let again = fixture.write(|transaction| {
        prune(
            transaction,
            &Retention {
                max_age_days: Some(7),
                max_per_source: None,
            },
            T0,
        )
    });
    assert_eq!(again, 0, "pruning twice deletes nothing more");
}

#[test]
fn prune_by_count_per_source_keeps_starred_messages() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let a = fixture.ingest_numbered(alerts, "a", 10);
    let w = fixture.ingest_numbered(web, "w", 2);
    let starred = a[0];
    fixture.write(move |transaction| set_starred(transaction, &ids(&[starred]), true));

    let pruned = fixture.write(|transaction| {
        prune(
            transaction,
            &Retention {
                max_age_days: None,
                max_per_source: Some(3),
            },
            T0,
        )
    });
    assert_eq!(
        pruned, 6,
        "alerts keeps its 3 newest and its starred one; web is under the limit"
    );
    assert_eq!(
        as_set(fixture.list_ids(all(), T0)),
        HashSet::from([a[9], a[8], a[7], a[0], w[1], w[0]]),
        "the newest per source survive, and starred messages always do"
    );
    fixture.assert_index_consistent("pruning by count");

    let no_limits = fixture.write(|transaction| prune(transaction, &Retention::default(), T0));
    assert_eq!(no_limits, 0, "default retention keeps everything");
}

#[test]
fn retention_settings_round_trip() {
    let fixture = Fixture::new();
    assert_eq!(
        fixture.read(retention),
        Retention::default(),
        "no setting means keep everything"
    );
    let wanted = Retention {
        max_age_days: Some(30),
        max_per_source: Some(5_000),
    };
    fixture.write(move |transaction| set_retention(transaction, &wanted));
    assert_eq!(
        fixture.read(retention),
        wanted,
        "retention reads back as set"
    );
}

// ---------------------------------------------------------- export/import

/// Messages using every field, with every kind of triage state, across two sources.
fn rich_inbox(fixture: &Fixture) -> Vec<MessageId> {
    let alerts = fixture.add_source("alerts");
    let feed = fixture.add_source("feed");
    let everything = NewMessage {
        remote_id: "full-1".into(),
        sent_at: T0 - 5 * MINUTE,
        expires_at: Some(T0 + 30 * DAY),
        topic: Some("ops".into()),
        title: "Disk *almost* full".into(),
        body: "## db-1\n\n`/var` at 97%\ttabs and \"quotes\"".into(),
        format: BodyFormat::Markdown,
        priority: Priority::URGENT,
        raw_priority: Some(9),
        tags: vec!["disk".into(), "prod".into(), "库存".into()],
        click: Some("https://grafana.example.com/d/disk".into()),
        icon: Some("https://example.com/icon.png".into()),
        actions: Some(json!([
            {"action": "view", "label": "Open", "url": "https://example.com"},
            {"action": "http", "label": "Ack", "url": "https://example.com/ack", "method": "POST", "body": "{}"}
        ])),
        attachment: Some(json!({
            "name": "report.pdf", "type": "application/pdf", "size": 123_456, "url": "https://example.com/r.pdf"
        })),
        group_key: Some("disk-db-1".into()),
        extras: Some(json!({
            "client::display": {"contentType": "text/markdown"},
            "ratio": 0.97, "nested": [1, null, "二"], "big": 9_007_199_254_740_993_u64
        })),
        updates: None,
    };
    let chinese = NewMessage {
        remote_id: "zh-1".into(),
        sent_at: T0 - 4 * MINUTE,
        title: "仓库 A3 库存告警".into(),
        body: "SKU-1142 库存低于安全线,请尽快补货。订单A12 已发货".into(),
        priority: Priority::HIGH,
        raw_priority: Some(4),
        tags: vec!["库存".into()],
        ..NewMessage::default()
    };
    let minimal = NewMessage {
        remote_id: "min-1".into(),
        sent_at: T0 - 3 * MINUTE,
        priority: Priority::MIN,
        ..NewMessage::default()
    };
    let archived = note("arch-1", "Old news", "archived");
    let snoozed = note("snz-1", "Later", "snoozed");
    let same_remote_other_source = note("full-1", "Feed item", "same remote id, other source");

    let first = fixture.ingest(
        vec![
            envelope(alerts, everything),
            envelope(alerts, chinese),
            envelope(alerts, minimal),
        ],
        T0 - HOUR,
    );
    let second = fixture.ingest(
        vec![
            envelope(alerts, archived),
            envelope(feed, snoozed),
            envelope(feed, same_remote_other_source),
        ],
        T0,
    );
    let m: Vec<MessageId> = first
        .stored
        .iter()
        .chain(&second.stored)
        .map(|stored| stored.id)
        .collect();
    assert_eq!(m.len(), 6, "all six messages are new");
    let (full, zh, arch, snz) = (m[0], m[1], m[3], m[4]);
    fixture.write(move |transaction| {
        set_read(transaction, &ids(&[full]), true)?;
        set_starred(transaction, &ids(&[full, zh]), true)?;
        set_archived(transaction, &ids(&[arch]), true, T0 + MINUTE)?;
        snooze(transaction, &ids(&[snz]), Some(T0 + DAY))
    });
    m
}

/// A message without its database-specific ids, for comparing across databases.
fn portable(message: Message) -> Message {
    Message {
        id: MessageId(0),
        source_id: SourceId(0),
        ..message
    }
}

fn sorted_portable(messages: Vec<Message>) -> Vec<Message> {
    let mut messages: Vec<Message> = messages.into_iter().map(portable).collect();
    messages.sort_by(|a, b| (&a.source_name, &a.remote_id).cmp(&(&b.source_name, &b.remote_id)));
    messages
}

#[test]
fn export_then_import_into_a_fresh_database_is_lossless() {
    let original = Fixture::new();
    rich_inbox(&original);
    let file = original.dir.path().join("export.jsonl");
    let exported = export_jsonl(&original.store, &file).expect("export succeeds");
    assert_eq!(exported, 6, "every message is exported");

    let copy = Fixture::new();
    let report = import_jsonl(&copy.store, &file, T0 + DAY).expect("import succeeds");
    assert_eq!(
        (report.lines, report.imported, report.duplicates),
        (6, 6, 0),
        "every exported line is imported into an empty database"
    );

    let before = sorted_portable(original.list(all(), T0));
    let after = sorted_portable(copy.list(all(), T0));
    assert_eq!(before.len(), 6, "the original holds six messages");
    for (was, is) in before.iter().zip(&after) {
        assert_eq!(
            was, is,
            "every field, triage state included, survives export and import"
        );
    }
    assert_eq!(before, after, "the imported inbox is the exported one");

    let order: Vec<String> = copy
        .list(all(), T0)
        .into_iter()
        .rev()
        .map(|message| format!("{}/{}", message.source_name, message.remote_id))
        .collect();
    let original_order: Vec<String> = original
        .list(all(), T0)
        .into_iter()
        .rev()
        .map(|message| format!("{}/{}", message.source_name, message.remote_id))
        .collect();
    assert_eq!(
        order, original_order,
        "messages keep their relative order, so newest first is unchanged"
    );

    copy.assert_index_consistent("import");
    let found: Vec<String> = copy
        .search("库存", all(), T0)
        .into_iter()
        .map(|hit| hit.message.remote_id)
        .collect();
    assert_eq!(
        found,
        ["zh-1", "full-1"],
        "imported Chinese text and tags are searchable"
    );
    let mut inbox: Vec<String> = copy
        .list(MessageFilter::default(), T0)
        .into_iter()
        .map(|message| format!("{}/{}", message.source_name, message.remote_id))
        .collect();
    inbox.sort();
    assert_eq!(
        inbox,
        [
            "alerts/full-1",
            "alerts/min-1",
            "alerts/zh-1",
            "feed/full-1"
        ],
        "imported archived and snoozed messages stay out of the inbox"
    );
}

#[test]
fn importing_the_same_file_twice_imports_nothing_the_second_time() {
    let original = Fixture::new();
    rich_inbox(&original);
    let file = original.dir.path().join("export.jsonl");
    export_jsonl(&original.store, &file).expect("export succeeds");

    let copy = Fixture::new();
    let first = import_jsonl(&copy.store, &file, T0).expect("first import");
    assert_eq!(first.imported, 6, "the first import adds everything");
    let second = import_jsonl(&copy.store, &file, T0).expect("second import");
    assert_eq!(
        (second.lines, second.imported, second.duplicates),
        (6, 0, 6),
        "the second import finds every line already stored"
    );
    assert!(
        second.sources_created.is_empty(),
        "the second import reuses the sources the first one created"
    );
    assert_eq!(copy.count_messages(), 6, "nothing is doubled");
    copy.assert_index_consistent("importing twice");

    let into_itself = import_jsonl(&original.store, &file, T0).expect("re-import into the source");
    assert_eq!(
        into_itself.imported, 0,
        "importing an export into the database it came from adds nothing"
    );
}

#[test]
fn import_creates_missing_sources_disabled_and_reuses_existing_ones() {
    let original = Fixture::new();
    rich_inbox(&original);
    let file = original.dir.path().join("export.jsonl");
    export_jsonl(&original.store, &file).expect("export succeeds");

    let copy = Fixture::new();
    let existing = copy.add_source("alerts");
    let report = import_jsonl(&copy.store, &file, T0 + DAY).expect("import succeeds");
    assert_eq!(
        report.sources_created,
        ["feed"],
        "only the source missing by name is created"
    );

    let sources = copy.read(list_sources);
    assert_eq!(sources.len(), 2, "alerts and the created feed");
    let alerts = &sources[0];
    assert_eq!(
        (alerts.id, alerts.enabled),
        (existing, true),
        "an existing source is reused as it is"
    );
    let feed = &sources[1];
    assert_eq!(
        feed.name, "feed",
        "the created source has the exported name"
    );
    assert!(
        !feed.enabled,
        "a created source starts disabled, since it has no credentials"
    );
    assert_eq!(
        (feed.protocol, feed.url.as_str(), feed.created_at),
        (Protocol::Ntfy, "wss://push.example.com/feed", T0 + DAY),
        "the created source takes the exported protocol and url, created at the given now"
    );
    let alerts_messages = copy.list_ids(
        MessageFilter {
            source: Some(existing),
            ..all()
        },
        T0,
    );
    assert_eq!(
        alerts_messages.len(),
        4,
        "messages of an existing name attach to that source"
    );
    assert_eq!(
        copy.stats()
            .sources
            .iter()
            .find(|source| source.id == feed.id)
            .map(|source| source.state.clone()),
        Some("idle".to_string()),
        "the created source has a stats row"
    );
}

#[test]
fn import_names_the_line_number_of_a_malformed_line() {
    let original = Fixture::new();
    rich_inbox(&original);
    let file = original.dir.path().join("export.jsonl");
    export_jsonl(&original.store, &file).expect("export succeeds");
    let text = std::fs::read_to_string(&file).expect("read the export");
    let lines: Vec<&str> = text.lines().collect();
    let broken = format!(
        "{}\n\n{}\n{{\"source\": 12\n{}\n",
        lines[0], lines[1], lines[2]
    );
    let broken_file = original.dir.path().join("broken.jsonl");
    std::fs::write(&broken_file, broken).expect("write the broken export");

    let copy = Fixture::new();
    let error = import_jsonl(&copy.store, &broken_file, T0).expect_err("a malformed line fails");
    let message = error.to_string();
    assert!(
        message.contains("line 4"),
        "the error names the malformed line (blank lines count): {message}"
    );
    assert!(
        message.contains("broken.jsonl"),
        "the error names the file: {message}"
    );
    assert_eq!(
        copy.count_messages(),
        2,
        "the lines before the malformed one are kept, as import_jsonl documents"
    );
    copy.assert_index_consistent("a failed import");

    let not_a_message = original.dir.path().join("wrong.jsonl");
    std::fs::write(&not_a_message, "{\"hello\": \"world\"}\n").expect("write a wrong file");
    let error = import_jsonl(&copy.store, &not_a_message, T0).expect_err("not an export line");
    assert!(
        error.to_string().contains("line 1"),
        "valid JSON that is not an export line is rejected with its line: {error}"
    );
}

// ---------------------------------------------------------------- sources

#[test]
fn sources_insert_get_list_update_enable_and_disable() {
    let fixture = Fixture::new();
    let config = SourceConfig {
        headers: vec![("X-Api-Key".into(), "abc".into())],
        auth: AuthPlacement::Query,
        read_timeout_secs: 30,
        ..SourceConfig::default()
    };
    let wanted = NewSource {
        config: config.clone(),
        ..new_source("alerts", Protocol::Gotify)
    };
    let alerts = fixture.write(move |transaction| insert_source(transaction, &wanted, T0));
    let json = fixture.write(|transaction| {
        insert_source(transaction, &new_source("feed", Protocol::Json), T0 + 1)
    });

    let record = fixture.read(move |connection| get_source(connection, alerts));
    assert_eq!(
        record,
        SourceRecord {
            id: alerts,
            name: "alerts".into(),
            protocol: Protocol::Gotify,
            url: "wss://push.example.com/alerts".into(),
            enabled: true,
            config,
            secret_store: SecretStore::None,
            created_at: T0,
            updated_at: T0,
        },
        "a source reads back exactly as inserted"
    );
    let listed: Vec<SourceId> = fixture
        .read(list_sources)
        .into_iter()
        .map(|source| source.id)
        .collect();
    assert_eq!(listed, [alerts, json], "sources list in the order added");
    assert_eq!(
        fixture
            .read(|connection| find_source_by_name(connection, "feed"))
            .map(|source| source.id),
        Some(json),
        "sources are found by name"
    );

    let new_config = SourceConfig {
        read_timeout_secs: 45,
        ..SourceConfig::default()
    };
    let expected_config = new_config.clone();
    fixture.write(move |transaction| {
        update_source(
            transaction,
            alerts,
            "wss://push2.example.com/stream",
            &new_config,
            T0 + HOUR,
        )
    });
    let updated = fixture.read(move |connection| get_source(connection, alerts));
    assert_eq!(
        (
            updated.url.as_str(),
            &updated.config,
            updated.created_at,
            updated.updated_at
        ),
        (
            "wss://push2.example.com/stream",
            &expected_config,
            T0,
            T0 + HOUR
        ),
        "update replaces url and config and stamps updated_at only"
    );

    fixture.write(move |transaction| set_source_enabled(transaction, alerts, false, T0 + 2 * HOUR));
    let disabled = fixture.read(move |connection| get_source(connection, alerts));
    assert!(!disabled.enabled, "disable sticks");
    assert_eq!(
        disabled.updated_at,
        T0 + 2 * HOUR,
        "disable stamps updated_at"
    );
    let state = |fixture: &Fixture| {
        fixture
            .stats()
            .sources
            .into_iter()
            .find(|source| source.id == alerts)
            .map(|source| (source.enabled, source.state))
    };
    assert_eq!(
        state(&fixture),
        Some((false, "disabled".to_string())),
        "a disabled source shows as disabled in stats"
    );
    fixture.write(move |transaction| set_source_enabled(transaction, alerts, true, T0 + 3 * HOUR));
    assert_eq!(
        state(&fixture),
        Some((true, "idle".to_string())),
        "enabling puts the source back to idle"
    );

    let missing = SourceId(777);
    let error = fixture
        .store
        .write(move |transaction| {
            update_source(
                transaction,
                missing,
                "wss://x",
                &SourceConfig::default(),
                T0,
            )
        })
        .expect_err("updating a missing source fails");
    assert!(
        error.to_string().contains("source 777 does not exist"),
        "the error names the missing source: {error}"
    );
    let error = fixture
        .store
        .write(move |transaction| set_source_enabled(transaction, missing, true, T0))
        .expect_err("enabling a missing source fails");
    assert!(
        matches!(error, StoreError::NotFound { id: 777, .. }),
        "NotFound for a missing source: {error}"
    );
    assert!(
        matches!(
            fixture
                .store
                .read(move |connection| get_source(connection, missing)),
            Err(StoreError::NotFound { .. })
        ),
        "getting a missing source is NotFound"
    );
}

#[test]
fn duplicate_source_names_are_rejected_with_a_clear_message() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let error = fixture
        .store
        .write(|transaction| insert_source(transaction, &new_source("alerts", Protocol::Json), T0))
        .expect_err("a second source named alerts is rejected");
    let message = error.to_string();
    assert!(
        message.contains("\"alerts\"") && message.contains("already exists"),
        "the error says which name is taken: {message}"
    );
    assert!(
        message.contains("--name"),
        "the error says how to fix it: {message}"
    );
    assert_eq!(
        fixture.read(list_sources).len(),
        1,
        "the rejected insert left nothing behind"
    );

    fixture.write(move |transaction| remove_source(transaction, alerts, true, T0));
    let reused = fixture.add_source("alerts");
    assert_ne!(
        reused, alerts,
        "the name of a removed source may be used again by a new source"
    );
}

#[test]
fn removing_a_source_with_keep_messages_keeps_its_history() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    let kept = fixture.ingest_texts(
        alerts,
        &[("a1", "Disk full", "db-1"), ("a2", "Disk ok", "db-1")],
        T0,
    );
    fixture.ingest_texts(web, &[("w1", "Deploy", "api")], T0);

    let deleted = fixture.write(move |transaction| remove_source(transaction, alerts, true, T0));
    assert_eq!(deleted, 0, "keep_messages deletes no message");
    assert!(
        matches!(
            fixture
                .store
                .read(move |connection| get_source(connection, alerts)),
            Err(StoreError::NotFound { .. })
        ),
        "a removed source is gone from the source API"
    );
    assert_eq!(
        fixture
            .read(list_sources)
            .into_iter()
            .map(|source| source.id)
            .collect::<Vec<_>>(),
        [web],
        "a removed source is not listed"
    );
    let history = fixture.list(
        MessageFilter {
            source: Some(alerts),
            ..all()
        },
        T0,
    );
    assert_eq!(
        history.iter().map(|message| message.id).collect::<Vec<_>>(),
        [kept[1], kept[0]],
        "its messages stay in the inbox"
    );
    assert!(
        history
            .iter()
            .all(|message| message.source_name == "alerts"),
        "kept messages still show their source's name"
    );
    let hits = fixture.search("disk", all(), T0);
    assert_eq!(hits.len(), 2, "kept messages stay searchable");
    assert!(
        hits.iter().all(|hit| hit.message.source_name == "alerts"),
        "search results resolve the removed source's name too"
    );
    let stats = fixture.stats();
    assert_eq!(
        stats
            .sources
            .iter()
            .map(|source| source.id)
            .collect::<Vec<_>>(),
        [web],
        "stats list only live sources"
    );
    assert_eq!(
        stats.totals.stored, 3,
        "totals still count the kept history"
    );
    fixture.assert_index_consistent("removing a source and keeping its messages");
}

#[test]
fn removing_a_source_without_keep_messages_deletes_them_and_their_index_entries() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");
    fixture.ingest_texts(
        alerts,
        &[
            ("a1", "Disk full", "库存告警"),
            ("a2", "Disk ok", "db-1"),
            ("a3", "x", "y"),
        ],
        T0,
    );
    let w = fixture.ingest_texts(web, &[("w1", "Disk on web", "api")], T0);

    let deleted = fixture.write(move |transaction| remove_source(transaction, alerts, false, T0));
    assert_eq!(deleted, 3, "removing reports the messages it deleted");
    assert_eq!(
        fixture.list_ids(all(), T0),
        w,
        "only the other source's messages remain"
    );
    assert_eq!(
        fixture.search_ids("disk"),
        w,
        "the removed source's messages no longer match"
    );
    assert!(
        fixture.search_ids("库存").is_empty(),
        "their Chinese text is gone from the index"
    );
    fixture.assert_index_consistent("removing a source with its messages");
    assert_eq!(fixture.cursor(alerts), None, "its cursor is gone");
    assert_eq!(
        fixture
            .stats()
            .sources
            .iter()
            .map(|source| source.id)
            .collect::<Vec<_>>(),
        [web],
        "its stats are gone"
    );
    let error = fixture
        .store
        .write(move |transaction| remove_source(transaction, alerts, false, T0))
        .expect_err("removing twice fails");
    assert!(
        matches!(error, StoreError::NotFound { .. }),
        "a removed source is NotFound: {error}"
    );
}

// ------------------------------------------------------------------ stats

#[test]
fn stats_sum_counters_and_count_stored_and_unread_per_source() {
    let fixture = Fixture::new();
    let alerts = fixture.add_source("alerts");
    let web = fixture.add_source("web");

    let first = fixture.ingest_batch(IngestBatch {
        envelopes: (0..4)
            .map(|n| envelope(alerts, note(&format!("a{n}"), "t", "b")))
            .chain([envelope(web, note("w0", "t", "b"))])
            .collect(),
        counters: HashMap::from([
            (
                alerts,
                FrameCounters {
                    frames_received: 6,
                    frames_rejected: 1,
                    frames_malformed: 1,
                    messages_dropped: 2,
                    last_error: Some(("frame too large".into(), T0 - MINUTE)),
                },
            ),
            (
                web,
                FrameCounters {
                    frames_received: 1,
                    frames_rejected: 2,
                    frames_malformed: 0,
                    messages_dropped: 0,
                    last_error: None,
                },
            ),
        ]),
        states: HashMap::from([(
            web,
            StateRecord {
                state: "connected",
                since: Some(T0 - HOUR),
                retry_at: None,
                attempts: 0,
            },
        )]),
        received_at: T0,
        ..IngestBatch::default()
    });
    assert_eq!(first.stored.len(), 5, "five new messages");

    let second = fixture.ingest_batch(IngestBatch {
        envelopes: vec![
            envelope(alerts, note("a3", "replay", "b")),
            envelope(alerts, note("a4", "t", "b")),
        ],
        counters: HashMap::from([(
            alerts,
            FrameCounters {
                frames_received: 2,
                frames_rejected: 0,
                frames_malformed: 2,
                messages_dropped: 1,
                last_error: None,
            },
        )]),
        states: HashMap::from([(
            alerts,
            StateRecord {
                state: "backoff",
                since: Some(T0),
                retry_at: Some(T0 + 30_000),
                attempts: 3,
            },
        )]),
        received_at: T0,
        ..IngestBatch::default()
    });
    assert_eq!(remote_ids(&second), ["a4"], "the replayed a3 is not new");

    let first_alert = first.stored[0].id;
    fixture.write(move |transaction| set_read(transaction, &ids(&[first_alert]), true));

    let stats = fixture.stats();
    let by_id: HashMap<SourceId, &SourceStats> = stats
        .sources
        .iter()
        .map(|source| (source.id, source))
        .collect();
    let a = by_id[&alerts];
    assert_eq!(
        (a.stored, a.unread),
        (5, 4),
        "alerts holds five messages, one of them read"
    );
    assert_eq!(
        (
            a.frames_received,
            a.frames_rejected,
            a.frames_malformed,
            a.messages_dropped
        ),
        (8, 1, 3, 3),
        "frame counters add up across batches"
    );
    assert_eq!(
        a.messages_stored, 5,
        "messages_stored counts new rows only, never replays"
    );
    assert_eq!(
        (a.last_error.as_deref(), a.last_error_at),
        (Some("frame too large"), Some(T0 - MINUTE)),
        "a batch without an error keeps the last one"
    );
    assert_eq!(
        (a.state.as_str(), a.state_since, a.retry_at, a.attempts),
        ("backoff", Some(T0), Some(T0 + 30_000), 3),
        "the latest state is recorded"
    );
    let w = by_id[&web];
    assert_eq!(
        (
            w.stored,
            w.unread,
            w.frames_received,
            w.frames_rejected,
            w.messages_stored
        ),
        (1, 1, 1, 2, 1),
        "web's counts"
    );
    assert_eq!(
        (w.state.as_str(), w.state_since),
        ("connected", Some(T0 - HOUR)),
        "web's state"
    );
    assert_eq!(
        stats.totals,
        Totals {
            stored: 6,
            unread: 5,
            frames_rejected: 3,
            frames_malformed: 3,
        },
        "totals sum the sources"
    );

    fixture.write(move |transaction| delete_messages(transaction, &Selection::Source(web)));
    let after = fixture.stats();
    let w = after
        .sources
        .iter()
        .find(|source| source.id == web)
        .expect("web is still a source");
    assert_eq!(
        (w.stored, w.messages_stored),
        (0, 1),
        "stored counts what is in the inbox now; messages_stored is cumulative"
    );
}

// ------------------------------------------------------------ permissions

#[cfg(unix)]
#[test]
fn the_database_file_is_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    let dir = TempDir::new().expect("a temporary directory");
    let path = dir.path().join("nested").join("data").join("herald.db");
    let store = Store::open(&path, BatchLimits::default()).expect("open creates the directories");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|error| panic!("stat {}: {error}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(
        mode(&path),
        0o600,
        "the database holds messages and secrets: only its owner may read it"
    );
    let parent = path.parent().expect("the database has a parent directory");
    assert_eq!(
        mode(parent) & 0o077,
        0,
        "a data directory herald creates is private too"
    );
    let wal = path.with_extension("db-wal");
    if wal.exists() {
        assert_eq!(
            mode(&wal),
            0o600,
            "the WAL file is as private as the database"
        );
    }
    store.close();
    assert_eq!(
        mode(&path),
        0o600,
        "the file stays owner-only after the writer checkpoints and closes"
    );

    // An existing file with loose permissions is tightened on open.
    let loose = dir.path().join("loose.db");
    std::fs::write(&loose, b"").expect("create an empty file");
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644))
        .expect("loosen permissions");
    let store = Store::open(&loose, BatchLimits::default()).expect("open an existing empty file");
    assert_eq!(
        mode(&loose),
        0o600,
        "opening an existing database makes it owner-only"
    );
    store.close();
}

#[test]
fn waiters_learn_what_their_commit_did_and_are_not_held_by_the_window() {
    use crate::model::{CommitNotice, Committed, Outcome};
    let dir = TempDir::new().expect("a temporary directory");
    // A long window: a waiter that had to sit it out would show.
    let limits = BatchLimits {
        max_rows: 1024,
        max_delay: std::time::Duration::from_secs(5),
    };
    let store = Store::open(&dir.path().join("herald.db"), limits).expect("store");
    let source = store
        .write(|transaction| insert_source(transaction, &new_source("broker", Protocol::Stomp), T0))
        .expect("source");
    let (to, mut committed) = tokio::sync::mpsc::unbounded_channel::<Committed>();
    let waited = |remote_id: &str, tag: u64, drop: bool| {
        let mut envelope = envelope(source, note(remote_id, "t", "b"));
        envelope.decision.drop = drop;
        envelope.notice = Some(CommitNotice {
            tag,
            to: to.clone(),
        });
        envelope
    };
    let first = IngestBatch {
        envelopes: vec![waited("a", 1, false), waited("b", 2, true)],
        received_at: T0,
        ..IngestBatch::default()
    };
    let again = IngestBatch {
        envelopes: vec![waited("a", 3, false), waited("c", 4, false)],
        received_at: T0,
        ..IngestBatch::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = std::time::Instant::now();
    let outcomes = runtime.block_on(async {
        store.ingest(first).await.expect("queued");
        let mut outcomes = vec![committed.recv().await, committed.recv().await];
        store.ingest(again).await.expect("queued");
        outcomes.push(committed.recv().await);
        outcomes.push(committed.recv().await);
        outcomes
    });
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "awaited batches commit at once, not when the 5 s window closes ({:?})",
        started.elapsed()
    );
    let outcomes: Vec<(u64, Outcome)> = outcomes
        .into_iter()
        .map(|outcome| {
            outcome
                .map(|c| (c.tag, c.outcome))
                .expect("a notice per message")
        })
        .collect();
    assert!(
        matches!(outcomes[0], (1, Outcome::Stored(_))),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[1], (2, Outcome::Dropped));
    assert_eq!(
        outcomes[2],
        (3, Outcome::Duplicate),
        "a redelivery is a duplicate"
    );
    assert!(
        matches!(outcomes[3], (4, Outcome::Stored(_))),
        "{outcomes:?}"
    );
    store.close();
}

// ---------------------------------------------------------------- damage

#[test]
fn a_file_that_is_not_a_database_is_set_aside_and_a_new_one_started() {
    let dir = TempDir::new().expect("a temporary directory");
    let path = dir.path().join("herald.db");
    let garbage = b"this is not sqlite at all, but the user's bytes all the same".repeat(200);
    std::fs::write(&path, &garbage).expect("write the file");

    let Err(error) = Store::open(&path, BatchLimits::default()) else {
        panic!("a file of garbage opened as a database");
    };
    assert!(error.is_damage(), "{error}");
    assert_eq!(
        std::fs::read(&path).expect("read the file"),
        garbage,
        "open alone changes nothing"
    );

    let (store, set_aside) =
        Store::open_or_set_aside(&path, BatchLimits::default()).expect("opens");
    let set_aside = set_aside.expect("reported");
    assert!(
        set_aside.reason.contains("not a database"),
        "{}",
        set_aside.reason
    );
    assert_eq!(
        std::fs::read(&set_aside.kept_at).expect("read the file"),
        garbage,
        "kept untouched"
    );
    assert!(set_aside
        .kept_at
        .file_name()
        .expect("a file name")
        .to_string_lossy()
        .starts_with("herald.db.damaged-"));
    let report = store.read(check_integrity).expect("checks");
    assert!(report.is_ok(), "{report:?}");
    store.close();
    drop(store);

    // Damaged again in the same second: the first kept file is not overwritten.
    std::fs::write(
        &path,
        b"garbage again, different from the first".repeat(200),
    )
    .expect("write the file");
    let (store, again) = Store::open_or_set_aside(&path, BatchLimits::default()).expect("opens");
    let again = again.expect("reported");
    assert_ne!(again.kept_at, set_aside.kept_at);
    assert_eq!(
        std::fs::read(&set_aside.kept_at).expect("read the file"),
        garbage
    );
    store.close();
}

#[test]
fn a_damaged_schema_is_set_aside_but_a_healthy_database_is_left_alone() {
    let dir = TempDir::new().expect("a temporary directory");
    let path = dir.path().join("herald.db");
    let store = Store::open(&path, BatchLimits::default()).expect("opens");
    store.close();
    drop(store);

    let (store, set_aside) =
        Store::open_or_set_aside(&path, BatchLimits::default()).expect("opens");
    assert_eq!(set_aside, None, "a healthy file stays where it is");
    store.close();
    drop(store);

    // Scribble over the schema table's page (page 1 after the header).
    let mut bytes = std::fs::read(&path).expect("read the file");
    for byte in &mut bytes[100..1024] {
        *byte = 0xa5;
    }
    std::fs::write(&path, &bytes).expect("write the file");
    let (store, set_aside) =
        Store::open_or_set_aside(&path, BatchLimits::default()).expect("opens");
    let set_aside = set_aside.expect("a broken schema is damage");
    assert_eq!(
        std::fs::read(&set_aside.kept_at).expect("read the file"),
        bytes
    );
    assert!(store.read(check_integrity).expect("checks").is_ok());
    store.close();
}
