//! The inbox on disk: SQLite with WAL, one writer thread, pooled readers.
//!
//! Every write goes through the single writer thread ([`writer`]), which
//! commits ingest in batches and runs other changes as closures, each in its
//! own transaction. Reads open their own connections and never wait for the
//! writer. Callers on the async runtime use the `_async` variants, which hop
//! to a blocking thread, so no SQLite call ever runs on a runtime worker.

mod export;
pub mod migrations;
pub mod queries;
pub mod rules;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, Transaction};

pub use export::{export_jsonl, import_from, import_jsonl, ImportReport};
pub use queries::*;
pub use writer::{
    BatchLimits, FrameCounters, IngestBatch, IngestReport, Inserter, StateRecord, StoredMessage,
    INSERT_FTS_SQL, INSERT_MESSAGE_SQL,
};

use crate::i18n::text;
use crate::search_text::fold_for_index;

/// Errors from the store. Messages are lowercase and say what to do; their
/// text comes from the locale catalog, in the language chosen.
#[derive(Debug)]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    Io(std::io::Error),
    TooNew {
        found: usize,
        known: usize,
    },
    NotFound {
        item: Item,
        id: i64,
    },
    /// Another source or rule already has this name; names are unique.
    Duplicate {
        item: Named,
        name: String,
    },
    /// A value that cannot be stored, worded for the person who gave it.
    Invalid(String),
    WriterGone,
}

/// What a [`StoreError::NotFound`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Source,
    Message,
    Rule,
}

/// What a [`StoreError::Duplicate`] is about: the things with unique names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Source,
    Rule,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            StoreError::Sqlite(error) => text("error.database", &[("error", &error.to_string())]),
            StoreError::DataDir { path, source } => text(
                "error.data_dir",
                &[
                    ("path", &path.display().to_string()),
                    ("error", &source.to_string()),
                ],
            ),
            StoreError::Io(error) => text("error.io", &[("error", &error.to_string())]),
            StoreError::TooNew { found, known } => text(
                "error.schema_too_new",
                &[("found", &found.to_string()), ("known", &known.to_string())],
            ),
            StoreError::NotFound { item, id } => {
                let key = match item {
                    Item::Source => "error.source_not_found",
                    Item::Message => "error.message_not_found",
                    Item::Rule => "error.rule_not_found",
                };
                text(key, &[("id", &id.to_string())])
            }
            StoreError::Duplicate { item, name } => {
                let key = match item {
                    Named::Source => "error.source_name_taken",
                    Named::Rule => "error.rule_name_taken",
                };
                text(key, &[("name", &format!("{name:?}"))])
            }
            StoreError::Invalid(message) => return f.write_str(message),
            StoreError::WriterGone => text("error.writer_gone", &[]),
        };
        f.write_str(&message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Sqlite(error) => Some(error),
            StoreError::DataDir { source, .. } | StoreError::Io(source) => Some(source),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(error)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(error: std::io::Error) -> Self {
        StoreError::Io(error)
    }
}

impl StoreError {
    /// The file is not a database or its structure is broken: retrying or
    /// migrating cannot help, only setting the file aside.
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                )
        )
    }
}

/// A damaged database that [`Store::open_or_set_aside`] moved out of the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Where the damaged file is now, untouched, for recovery.
    pub kept_at: PathBuf,
    /// What SQLite said about it.
    pub reason: String,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

type WriteJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// Handle to an open database. Cheap to clone; the writer thread lives until
/// the last handle is dropped or [`Store::close`] is called.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: writer::WriterHandle,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrates it and
    /// starts the writer thread. The file is created readable by its owner only.
    pub fn open(path: &Path, limits: BatchLimits) -> Result<Store> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            create_private_dir(parent)?;
        }
        create_private_file(path)?;
        let connection = when_not_busy(|| {
            let mut connection = open_connection(path)?;
            migrations::migrate(&mut connection)?;
            Ok(connection)
        })?;
        let writer = writer::spawn(connection, limits)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer,
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Opens the database like [`Store::open`]; if the file is damaged, moves
    /// it (with its -wal and -shm files) aside as `NAME.damaged-TIMESTAMP`
    /// and starts a new one. Nothing is deleted: the user is told where the
    /// old file is, to recover what it holds.
    pub fn open_or_set_aside(
        path: &Path,
        limits: BatchLimits,
    ) -> Result<(Store, Option<SetAside>)> {
        let reason = match Store::open(path, limits) {
            Ok(store) => return Ok((store, None)),
            Err(error) if error.is_damage() => error.to_string(),
            Err(error) => return Err(error),
        };
        let stamp = file_stamp(crate::model::now_ms());
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // Never over an earlier damaged file (twice in one second).
        let kept_at = (1..)
            .map(|n| match n {
                1 => path.with_file_name(format!("{name}.damaged-{stamp}")),
                n => path.with_file_name(format!("{name}.damaged-{stamp}-{n}")),
            })
            .find(|candidate| !candidate.exists())
            .expect("an unused name");
        for suffix in ["-wal", "-shm", ""] {
            let from = PathBuf::from(format!("{}{suffix}", path.display()));
            if from.exists() {
                std::fs::rename(&from, format!("{}{suffix}", kept_at.display()))?;
            }
        }
        tracing::error!(kept_at = %kept_at.display(), %reason, "the database was damaged; it was set aside and a new one started");
        let store = Store::open(path, limits)?;
        Ok((store, Some(SetAside { kept_at, reason })))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Why received messages cannot be saved right now (a full disk, a
    /// read-only file, a lock held elsewhere), or `None` while writes work.
    pub fn write_trouble(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.inner.writer.trouble()
    }

    /// Runs `job` on the writer thread in its own transaction and waits.
    /// For synchronous callers (the CLI, blocking threads), never the runtime.
    pub fn write<R, F>(&self, job: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.writer.call(Self::wrap(job, reply))?;
        answer.blocking_recv().map_err(|_| StoreError::WriterGone)?
    }

    /// [`Store::write`] for async callers.
    pub async fn write_async<R, F>(&self, job: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.writer.call_async(Self::wrap(job, reply)).await?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    fn wrap<R, F>(job: F, reply: tokio::sync::oneshot::Sender<Result<R>>) -> WriteJob
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R> + Send + 'static,
    {
        Box::new(move |connection: &mut Connection| {
            let outcome = (|| {
                let transaction = connection
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let value = job(&transaction)?;
                transaction.commit()?;
                Ok(value)
            })();
            // The caller may have given up waiting; the work is done either way.
            let _ = reply.send(outcome);
        })
    }

    /// Queues a batch of received messages for the next commit.
    pub async fn ingest(&self, batch: IngestBatch) -> Result<()> {
        self.inner.writer.ingest(batch).await
    }

    /// Runs `read` on a pooled read connection. Blocking.
    pub fn read<R>(&self, read: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let pooled = self
            .inner
            .readers
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop());
        let connection = match pooled {
            Some(connection) => connection,
            None => open_connection(&self.inner.path)?,
        };
        let outcome = read(&connection);
        // A statement left stepping would pin this connection to an old
        // snapshot of the database for whoever reads with it next.
        if connection.is_busy() {
            tracing::error!("a read left a statement running; its connection is closed");
            return outcome;
        }
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 4 {
                pool.push(connection);
            }
        }
        outcome
    }

    /// [`Store::read`] for async callers: runs on a blocking thread.
    pub async fn read_async<R, F>(&self, read: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read(read))
            .await
            .map_err(|join| {
                StoreError::Invalid(text("error.read_task", &[("error", &join.to_string())]))
            })?
    }

    /// Commits what is queued, stops the writer thread and waits for it.
    pub fn close(&self) {
        self.inner.writer.shutdown();
    }
}

/// Opens a connection with Herald's pragmas and SQL functions.
pub fn open_connection(path: &Path) -> Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;",
    )?;
    register_functions(&connection)?;
    Ok(connection)
}

/// SQL functions the schema relies on: `herald_fold(text)` is the search
/// folding of [`crate::search_text`], used by the `messages_search` view.
pub fn register_functions(connection: &Connection) -> Result<()> {
    connection.create_scalar_function(
        "herald_fold",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |context| {
            let text: Option<String> = context.get(0)?;
            Ok(text.map(|text| fold_for_index(&text).into_owned()))
        },
    )?;
    Ok(())
}

/// Runs `open` again while SQLite answers "busy" for up to the busy timeout.
/// Switching a new, empty file to WAL takes a lock that SQLite does not
/// wait for, so two processes creating the database together (the window
/// and a `herald` command) would otherwise fail at once.
fn when_not_busy<T>(mut open: impl FnMut() -> Result<T>) -> Result<T> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(10);
    loop {
        match open() {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(failure, _)))
                if failure.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            outcome => return outcome,
        }
    }
}

/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `20261128-125959` (UTC) for a file name: sortable and free of colons.
fn file_stamp(ms: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

fn create_private_dir(path: &Path) -> Result<()> {
    let map = |source| StoreError::DataDir {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(path).map_err(map)?;
    }
    Ok(())
}

/// Creates the database file with mode 0600 before SQLite opens it; SQLite
/// gives its -wal and -shm files the same mode as the database.
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|source| StoreError::DataDir {
        path: path.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
