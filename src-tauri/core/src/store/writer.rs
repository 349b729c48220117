//! The single writer thread. It owns the only read-write connection that
//! changes data, so SQLite never sees two writers and never returns "busy"
//! to Herald itself.
//!
//! Ingest is group-committed: the first batch opens a window that closes
//! after `max_rows` rows or `max_delay`, whichever comes first, and
//! everything that arrived in it is committed in one transaction. A batch
//! that someone waits on (a broker's acknowledgement, a publish request) is
//! committed at once when nothing else is queued. Other
//! writes (user actions, source edits) run as closures, in order with the
//! ingest around them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::{Result, StoreError, WriteJob};
use crate::model::{
    Committed, Cursor, DerivedColumns, Envelope, MessageId, NewMessage, Outcome, SourceId,
};

/// When the writer commits a batch of received messages.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_rows: usize,
    pub max_delay: Duration,
}

impl Default for BatchLimits {
    /// Tuned with `herald-bench ingest` (see the README's performance section):
    /// a transaction larger than about a thousand rows spills SQLite's page
    /// cache and gets slower per row (4,096-row batches measured 0.84× the raw
    /// limit on tmpfs, 1,024-row batches 1.04×), and a few milliseconds of
    /// delay adds nothing a person can notice.
    fn default() -> Self {
        BatchLimits {
            max_rows: 1024,
            max_delay: Duration::from_millis(4),
        }
    }
}

/// What a source's task counted since the last batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameCounters {
    pub frames_received: u64,
    pub frames_rejected: u64,
    pub frames_malformed: u64,
    /// Messages routing rules dropped.
    pub messages_dropped: u64,
    /// The latest error and when it happened (Unix ms).
    pub last_error: Option<(String, i64)>,
}

impl FrameCounters {
    pub fn merge(&mut self, other: FrameCounters) {
        self.frames_received += other.frames_received;
        self.frames_rejected += other.frames_rejected;
        self.frames_malformed += other.frames_malformed;
        self.messages_dropped += other.messages_dropped;
        if other.last_error.is_some() {
            self.last_error = other.last_error;
        }
    }
}

/// A persisted snapshot of a source's connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    pub state: &'static str,
    pub since: Option<i64>,
    pub retry_at: Option<i64>,
    pub attempts: u32,
}

/// Received messages and counters to commit together.
#[derive(Debug, Default)]
pub struct IngestBatch {
    pub envelopes: Vec<Envelope>,
    pub counters: HashMap<SourceId, FrameCounters>,
    pub states: HashMap<SourceId, StateRecord>,
    /// Where to report which messages were new. Absent for fire-and-forget imports.
    pub report_to: Option<tokio::sync::mpsc::UnboundedSender<IngestReport>>,
    /// Unix ms to record as `received_at`; filled by the writer when 0.
    pub received_at: i64,
}

/// One committed message that was not there before.
#[derive(Debug, Clone, Serialize)]
pub struct StoredMessage {
    pub id: MessageId,
    pub source_id: SourceId,
    pub received_at: i64,
    pub message: NewMessage,
    #[serde(skip)]
    pub received: Instant,
    /// What the routing rules decided (notify, webhooks, commands).
    #[serde(skip)]
    pub decision: crate::rules::Decision,
}

/// What one commit stored: only rows actually inserted, never replays.
#[derive(Debug, Default)]
pub struct IngestReport {
    pub stored: Vec<StoredMessage>,
    pub committed: Option<Instant>,
}

enum Job {
    Call(WriteJob),
    Ingest(IngestBatch),
    Shutdown,
}

pub(super) struct WriterHandle {
    jobs: flume::Sender<Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    trouble: tokio::sync::watch::Receiver<Option<String>>,
}

impl WriterHandle {
    pub(super) fn call(&self, job: WriteJob) -> Result<()> {
        self.jobs
            .send(Job::Call(job))
            .map_err(|_| StoreError::WriterGone)
    }

    pub(super) async fn call_async(&self, job: WriteJob) -> Result<()> {
        self.jobs
            .send_async(Job::Call(job))
            .await
            .map_err(|_| StoreError::WriterGone)
    }

    pub(super) async fn ingest(&self, batch: IngestBatch) -> Result<()> {
        self.jobs
            .send_async(Job::Ingest(batch))
            .await
            .map_err(|_| StoreError::WriterGone)
    }

    pub(super) fn trouble(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.trouble.clone()
    }

    pub(super) fn shutdown(&self) {
        let _ = self.jobs.send(Job::Shutdown);
        let thread = self.thread.lock().ok().and_then(|mut slot| slot.take());
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the database writer thread panicked");
            }
        }
    }
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(super) fn spawn(connection: Connection, limits: BatchLimits) -> Result<WriterHandle> {
    // Bounded, so a writer that falls behind slows the sources down (and
    // they stop reading their sockets) instead of buffering without limit.
    let (jobs, queue) = flume::bounded(64);
    let (trouble_sender, trouble) = tokio::sync::watch::channel(None);
    let thread = std::thread::Builder::new()
        .name("herald-writer".into())
        .spawn(move || run(connection, queue, limits, trouble_sender))?;
    Ok(WriterHandle {
        jobs,
        thread: Mutex::new(Some(thread)),
        trouble,
    })
}

type Trouble = tokio::sync::watch::Sender<Option<String>>;

fn run(
    mut connection: Connection,
    queue: flume::Receiver<Job>,
    limits: BatchLimits,
    trouble: Trouble,
) {
    let mut pending: Vec<IngestBatch> = Vec::new();
    let mut pending_rows = 0;
    let mut window_closes = Instant::now();
    let mut wrote = false;
    loop {
        let next = if pending.is_empty() {
            queue.recv().ok()
        } else {
            match queue.recv_deadline(window_closes) {
                Ok(job) => Some(job),
                Err(flume::RecvTimeoutError::Timeout) => {
                    commit(&mut connection, &mut pending, &trouble);
                    pending_rows = 0;
                    continue;
                }
                Err(flume::RecvTimeoutError::Disconnected) => None,
            }
        };
        match next {
            Some(Job::Ingest(batch)) => {
                if pending.is_empty() {
                    window_closes = Instant::now() + limits.max_delay;
                }
                // A broker holding back its next messages until these are
                // acknowledged (RabbitMQ's MQTT prefetch is 10), or a
                // script waiting for its answer, gains nothing from the
                // window: with nothing else queued, commit now.
                let awaited = batch
                    .envelopes
                    .iter()
                    .any(|envelope| envelope.notice.is_some());
                pending_rows += batch.envelopes.len();
                pending.push(batch);
                wrote = true;
                if pending_rows >= limits.max_rows || (awaited && queue.is_empty()) {
                    commit(&mut connection, &mut pending, &trouble);
                    pending_rows = 0;
                }
            }
            Some(Job::Call(job)) => {
                // Keep order: what was received before this change is committed first.
                commit(&mut connection, &mut pending, &trouble);
                pending_rows = 0;
                job(&mut connection);
                wrote = true;
            }
            Some(Job::Shutdown) | None => {
                commit(&mut connection, &mut pending, &trouble);
                // Fold the WAL back so the file is whole when Herald is not
                // running. Only after writing: a read-only command must not
                // take the lock a running engine is about to need.
                if wrote {
                    if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
                    {
                        tracing::warn!(%error, "checkpoint at shutdown failed");
                    }
                }
                return;
            }
        }
    }
}

/// How long the writer keeps retrying a batch that fails to commit (the
/// database locked by another process, a full disk) before giving up on it.
/// While it retries, sources wait: nothing is dropped on a passing fault.
const COMMIT_PATIENCE: Duration = Duration::from_secs(60);

fn commit(connection: &mut Connection, pending: &mut Vec<IngestBatch>, trouble: &Trouble) {
    if pending.is_empty() {
        return;
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        let now = crate::model::now_ms();
        match write_batches(connection, pending, now) {
            Ok(inserted) => {
                send_reports(std::mem::take(pending), inserted, now);
                trouble.send_if_modified(|current| current.take().is_some());
                return;
            }
            Err(error) if is_transient(&error) && started.elapsed() < COMMIT_PATIENCE => {
                if pause == Duration::from_millis(50) {
                    tracing::warn!(%error, "could not commit received messages; retrying");
                    let waiting: usize = pending.iter().map(|batch| batch.envelopes.len()).sum();
                    trouble.send_replace(Some(crate::i18n::count(
                        "error.write_waiting",
                        waiting as u64,
                        &[("problem", &describe_write_failure(&error))],
                    )));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            // The transaction rolled back, so no cursor moved: after a
            // restart the sources are asked for these messages again.
            Err(error) => {
                let lost: usize = pending.iter().map(|batch| batch.envelopes.len()).sum();
                tracing::error!(%error, lost, "gave up committing received messages; they will be fetched again after a restart");
                trouble.send_replace(Some(crate::i18n::count(
                    "error.write_lost",
                    lost as u64,
                    &[("problem", &describe_write_failure(&error))],
                )));
                pending.clear();
                return;
            }
        }
    }
}

/// A write failure in words a user can act on.
fn describe_write_failure(error: &StoreError) -> String {
    use rusqlite::ErrorCode;
    let code = match error {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => Some(failure.code),
        _ => None,
    };
    let key = match code {
        Some(ErrorCode::DiskFull) => "error.disk_full",
        Some(ErrorCode::ReadOnly) => "error.read_only",
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => "error.database_locked",
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => "error.database_damaged",
        _ => "error.write_failed",
    };
    crate::i18n::text(key, &[("error", &error.to_string())])
}

/// Faults that may pass: another process holding the lock, a full disk,
/// an I/O error, a file made read-only. Anything else (a constraint, a bug)
/// would fail the same way again, so it is not retried.
fn is_transient(error: &StoreError) -> bool {
    use rusqlite::ErrorCode;
    match error {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) => matches!(
            failure.code,
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::ReadOnly
        ),
        StoreError::Io(_) => true,
        _ => false,
    }
}

fn received_at(batch: &IngestBatch, now: i64) -> i64 {
    if batch.received_at == 0 {
        now
    } else {
        batch.received_at
    }
}

/// Moves each committed new message into its batch's report.
fn send_reports(batches: Vec<IngestBatch>, inserted: Vec<Vec<(usize, MessageId)>>, now: i64) {
    let committed = Instant::now();
    for (batch, inserted) in batches.into_iter().zip(inserted) {
        notify_waiters(&batch.envelopes, &inserted);
        let Some(report_to) = batch.report_to.clone() else {
            continue;
        };
        let received_at = received_at(&batch, now);
        let mut envelopes: Vec<Option<Envelope>> = batch.envelopes.into_iter().map(Some).collect();
        let stored = inserted
            .into_iter()
            .filter_map(|(index, id)| {
                let envelope = envelopes.get_mut(index)?.take()?;
                Some(StoredMessage {
                    id,
                    source_id: envelope.source_id,
                    received_at,
                    message: envelope.message,
                    received: envelope.received,
                    decision: envelope.decision,
                })
            })
            .collect();
        let _ = report_to.send(IngestReport {
            stored,
            committed: Some(committed),
        });
    }
}

/// Tells whoever waits on a message (a broker session, a publish request)
/// that its transaction committed, and how.
fn notify_waiters(envelopes: &[Envelope], inserted: &[(usize, MessageId)]) {
    if envelopes.iter().all(|envelope| envelope.notice.is_none()) {
        return;
    }
    let mut ids = inserted.iter().peekable();
    for (index, envelope) in envelopes.iter().enumerate() {
        let id = ids.next_if(|(at, _)| *at == index).map(|(_, id)| *id);
        let Some(notice) = &envelope.notice else {
            continue;
        };
        let outcome = match id {
            Some(id) => Outcome::Stored(id),
            None if envelope.decision.drop => Outcome::Dropped,
            None => Outcome::Duplicate,
        };
        let _ = notice.to.send(Committed {
            tag: notice.tag,
            outcome,
        });
    }
}

/// Writes every pending batch in one transaction. Returns, per batch, the
/// index and new row id of each envelope that was actually inserted.
fn write_batches(
    connection: &mut Connection,
    batches: &[IngestBatch],
    now: i64,
) -> Result<Vec<Vec<(usize, MessageId)>>> {
    // IMMEDIATE takes the write lock up front, so another process holding
    // it (a CLI command, a checkpoint) makes this wait out the busy timeout
    // instead of failing at the first write after a read.
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut inserted = Vec::with_capacity(batches.len());
    {
        let mut inserter = Inserter::new(&transaction)?;
        for batch in batches {
            inserted.push(inserter.insert_envelopes(&batch.envelopes, received_at(batch, now))?);
            for (source_id, counters) in &batch.counters {
                inserter.add_counters(*source_id, counters, 0, now)?;
            }
            for (source_id, state) in &batch.states {
                inserter.set_state(*source_id, state, now)?;
            }
        }
        inserter.finish(now)?;
    }
    transaction.commit()?;
    Ok(inserted)
}

/// The SQL that stores one message; shared with the raw-SQLite benchmark so
/// both measure the same schema and statements.
pub const INSERT_MESSAGE_SQL: &str = "INSERT INTO messages (source_id, remote_id, received_at, sent_at, expires_at, topic, title, body, format, priority, raw_priority, tags, click, icon, actions, attachment, group_key, extras) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) ON CONFLICT (source_id, remote_id) DO NOTHING";

/// The SQL that indexes one stored message for search.
pub const INSERT_FTS_SQL: &str =
    "INSERT INTO messages_fts (rowid, title, body, tags) VALUES (?1, ?2, ?3, ?4)";

/// Prepared statements for one transaction of ingest.
pub struct Inserter<'t> {
    insert_message: rusqlite::CachedStatement<'t>,
    insert_fts: rusqlite::CachedStatement<'t>,
    transaction: &'t Transaction<'t>,
    cursors: HashMap<SourceId, Cursor>,
    stored_per_source: HashMap<SourceId, u64>,
    source_exists: HashMap<SourceId, bool>,
    /// (stored, unread) added per source, for `message_counts`.
    counts: HashMap<SourceId, (i64, i64)>,
}

impl<'t> Inserter<'t> {
    pub fn new(transaction: &'t Transaction<'t>) -> Result<Inserter<'t>> {
        Ok(Inserter {
            insert_message: transaction.prepare_cached(INSERT_MESSAGE_SQL)?,
            insert_fts: transaction.prepare_cached(INSERT_FTS_SQL)?,
            transaction,
            cursors: HashMap::new(),
            stored_per_source: HashMap::new(),
            source_exists: HashMap::new(),
            counts: HashMap::new(),
        })
    }

    /// Inserts what is new, skips what is already stored, and remembers each
    /// source's latest cursor for [`Inserter::finish`].
    pub fn insert_envelopes(
        &mut self,
        envelopes: &[Envelope],
        received_at: i64,
    ) -> Result<Vec<(usize, MessageId)>> {
        let mut inserted = Vec::new();
        let mut last_per_source: HashMap<SourceId, usize> = HashMap::new();
        for (index, envelope) in envelopes.iter().enumerate() {
            // A source removed while its messages were queued (deleted, or
            // removed keeping its history): drop them rather than fail the
            // whole transaction on its foreign key or revive its cursor.
            if !self.source_exists(envelope.source_id)? {
                continue;
            }
            last_per_source.insert(envelope.source_id, index);
            let decision = &envelope.decision;
            if decision.drop {
                // Counted by the hub; the cursor still moves past it.
                continue;
            }
            let triage =
                (decision.mark_read || decision.star).then_some(super::queries::TriageState {
                    read: decision.mark_read,
                    starred: decision.star,
                    snoozed_until: None,
                    archived_at: None,
                });
            if let Some(id) = self.insert_message(
                envelope.source_id,
                &envelope.message,
                &envelope.derived,
                received_at,
                triage.as_ref(),
            )? {
                *self
                    .stored_per_source
                    .entry(envelope.source_id)
                    .or_default() += 1;
                inserted.push((index, id));
            }
        }
        for (source_id, index) in last_per_source {
            self.cursors
                .insert(source_id, envelopes[index].cursor.clone());
        }
        Ok(inserted)
    }

    fn source_exists(&mut self, source_id: SourceId) -> Result<bool> {
        if let Some(&exists) = self.source_exists.get(&source_id) {
            return Ok(exists);
        }
        let exists = self
            .transaction
            .query_row(
                "SELECT 1 FROM sources WHERE id = ?1 AND removed_at IS NULL",
                [source_id.0],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        self.source_exists.insert(source_id, exists);
        Ok(exists)
    }

    /// Inserts one message unless `(source, remote_id)` is already stored.
    /// Returns the new row id, or `None` for a duplicate.
    pub fn insert_message(
        &mut self,
        source_id: SourceId,
        message: &NewMessage,
        derived: &DerivedColumns,
        received_at: i64,
        state: Option<&super::queries::TriageState>,
    ) -> Result<Option<MessageId>> {
        let inserted = self.insert_message.execute(params![
            source_id.0,
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
            derived.tags,
            message.click,
            message.icon,
            derived.actions,
            derived.attachment,
            message.group_key,
            derived.extras,
        ])?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = self.transaction.last_insert_rowid();
        let count = self.counts.entry(source_id).or_default();
        count.0 += 1;
        count.1 += i64::from(!state.is_some_and(|state| state.read));
        self.insert_fts.execute(params![
            id,
            derived.search_title.as_deref().unwrap_or(&message.title),
            derived.search_body.as_deref().unwrap_or(&message.body),
            derived
                .search_tags
                .as_deref()
                .or(derived.tags.as_deref())
                .unwrap_or(""),
        ])?;
        if let Some(state) = state {
            self.transaction.execute(
                "UPDATE messages SET read = ?2, starred = ?3, snoozed_until = ?4, archived_at = ?5 WHERE id = ?1",
                params![id, state.read, state.starred, state.snoozed_until, state.archived_at],
            )?;
        }
        Ok(Some(MessageId(id)))
    }

    pub fn add_counters(
        &mut self,
        source_id: SourceId,
        counters: &FrameCounters,
        stored: u64,
        now: i64,
    ) -> Result<()> {
        let (error, error_at) = match &counters.last_error {
            Some((error, at)) => (Some(error.as_str()), Some(*at)),
            None => (None, None),
        };
        self.transaction
            .prepare_cached(
                "INSERT INTO source_stats (source_id, frames_received, frames_rejected, frames_malformed, messages_stored, last_error, last_error_at, updated_at, messages_dropped)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1)
                 ON CONFLICT (source_id) DO UPDATE SET
                    frames_received = frames_received + excluded.frames_received,
                    frames_rejected = frames_rejected + excluded.frames_rejected,
                    frames_malformed = frames_malformed + excluded.frames_malformed,
                    messages_stored = messages_stored + excluded.messages_stored,
                    messages_dropped = messages_dropped + excluded.messages_dropped,
                    last_error = coalesce(excluded.last_error, last_error),
                    last_error_at = coalesce(excluded.last_error_at, last_error_at),
                    updated_at = excluded.updated_at",
            )?
            .execute(params![
                source_id.0,
                counters.frames_received as i64,
                counters.frames_rejected as i64,
                counters.frames_malformed as i64,
                stored as i64,
                error,
                error_at,
                now,
                counters.messages_dropped as i64,
            ])?;
        Ok(())
    }

    pub fn set_state(&mut self, source_id: SourceId, state: &StateRecord, now: i64) -> Result<()> {
        self.transaction
            .prepare_cached(
                "INSERT INTO source_stats (source_id, state, state_since, retry_at, attempts, updated_at)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1)
                 ON CONFLICT (source_id) DO UPDATE SET state = excluded.state, state_since = excluded.state_since,
                    retry_at = excluded.retry_at, attempts = excluded.attempts, updated_at = excluded.updated_at",
            )?
            .execute(params![source_id.0, state.state, state.since, state.retry_at, state.attempts, now])?;
        Ok(())
    }

    /// Writes each source's cursor and stored count; call once per transaction.
    /// Writes what the inserts add up to: cursors, counters and the kept
    /// per-source totals. Call it before the transaction commits.
    pub fn finish(&mut self, now: i64) -> Result<()> {
        super::queries::adjust_counts(
            self.transaction,
            std::mem::take(&mut self.counts)
                .into_iter()
                .map(|(source_id, count)| (source_id.0, count)),
        )?;
        for (source_id, cursor) in std::mem::take(&mut self.cursors) {
            self.transaction
                .prepare_cached(
                    "INSERT INTO cursors (source_id, last_id, last_time, updated_at)
                     SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM sources WHERE id = ?1)
                     ON CONFLICT (source_id) DO UPDATE SET last_id = excluded.last_id,
                        last_time = excluded.last_time, updated_at = excluded.updated_at",
                )?
                .execute(params![source_id.0, cursor.last_id, cursor.last_time, now])?;
        }
        for (source_id, stored) in std::mem::take(&mut self.stored_per_source) {
            self.add_counters(source_id, &FrameCounters::default(), stored, now)?;
        }
        Ok(())
    }
}
