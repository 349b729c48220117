//! Schema migrations. Append-only: a migration that has shipped is never
//! edited (the checksum test below fails if one is); change the schema by
//! adding a new one at the end.

use rusqlite::Connection;

use super::StoreError;

/// Every migration in order; `PRAGMA user_version` records how many have run.
pub const MIGRATIONS: &[&str] = &[
    // 1: sources, cursors, per-source counters, messages, search index, settings.
    r#"
CREATE TABLE sources (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    protocol     TEXT NOT NULL CHECK (protocol IN ('ntfy', 'gotify', 'json')),
    url          TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    config       TEXT NOT NULL DEFAULT '{}',
    secret_store TEXT NOT NULL DEFAULT 'none' CHECK (secret_store IN ('none', 'keyring', 'database')),
    secret       TEXT,
    removed_at   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX sources_live_name ON sources(name) WHERE removed_at IS NULL;

-- Kept apart from the messages, so deleting or pruning history never
-- rewinds where a source resumes.
CREATE TABLE cursors (
    source_id  INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    last_id    TEXT NOT NULL,
    last_time  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE source_stats (
    source_id        INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    state            TEXT NOT NULL DEFAULT 'idle',
    state_since      INTEGER,
    retry_at         INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    frames_received  INTEGER NOT NULL DEFAULT 0,
    frames_rejected  INTEGER NOT NULL DEFAULT 0,
    frames_malformed INTEGER NOT NULL DEFAULT 0,
    messages_stored  INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    last_error_at    INTEGER,
    updated_at       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    remote_id     TEXT NOT NULL,
    received_at   INTEGER NOT NULL,
    sent_at       INTEGER NOT NULL,
    expires_at    INTEGER,
    topic         TEXT,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    format        TEXT NOT NULL,
    priority      INTEGER NOT NULL,
    raw_priority  INTEGER,
    tags          TEXT,
    click         TEXT,
    icon          TEXT,
    actions       TEXT,
    attachment    TEXT,
    group_key     TEXT,
    extras        TEXT,
    read          INTEGER NOT NULL DEFAULT 0,
    starred       INTEGER NOT NULL DEFAULT 0,
    snoozed_until INTEGER,
    archived_at   INTEGER,
    UNIQUE (source_id, remote_id)
);
CREATE INDEX messages_by_source ON messages(source_id, id);
CREATE INDEX messages_unread ON messages(source_id) WHERE read = 0;
CREATE INDEX messages_starred ON messages(id) WHERE starred = 1;

-- The search index reads its content through this view, which applies the
-- same folding the writer applies when it fills the index (see
-- search_text.rs). `herald_fold` is registered on every connection Herald opens.
CREATE VIEW messages_search AS
    SELECT id, herald_fold(title) AS title, herald_fold(body) AS body,
           herald_fold(coalesce(tags, '')) AS tags
    FROM messages;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    title, body, tags,
    content = 'messages_search', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    // 2: routing rules, in the order they are evaluated. `definition` is the
    // rule's match, actions and stop flag as JSON (see `rules::Rule`).
    r#"
CREATE TABLE rules (
    id         INTEGER PRIMARY KEY,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    enabled    INTEGER NOT NULL DEFAULT 1,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX rules_name ON rules(name);
"#,
    // 3: what routing did: messages rules dropped (per source), and the
    // deliveries of webhook and command actions that failed, so an admin can
    // see them (the newest few hundred are kept).
    r#"
ALTER TABLE source_stats ADD COLUMN messages_dropped INTEGER NOT NULL DEFAULT 0;

CREATE TABLE delivery_failures (
    id          INTEGER PRIMARY KEY,
    rule_id     INTEGER,
    rule_name   TEXT NOT NULL,
    message_id  INTEGER,
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    error       TEXT NOT NULL,
    failed_at   INTEGER NOT NULL
);
"#,
    // 4: sources may speak STOMP and MQTT, and the local publish API is a
    // source. SQLite cannot change a CHECK in place, so the table is rebuilt
    // (with foreign keys off for this migration: see `REBUILDS`).
    r#"
CREATE TABLE sources_new (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    protocol     TEXT NOT NULL CHECK (protocol IN ('ntfy', 'gotify', 'json', 'stomp', 'mqtt', 'local')),
    url          TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    config       TEXT NOT NULL DEFAULT '{}',
    secret_store TEXT NOT NULL DEFAULT 'none' CHECK (secret_store IN ('none', 'keyring', 'database')),
    secret       TEXT,
    removed_at   INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
INSERT INTO sources_new SELECT id, name, protocol, url, enabled, config, secret_store, secret, removed_at, created_at, updated_at FROM sources;
DROP TABLE sources;
ALTER TABLE sources_new RENAME TO sources;
CREATE UNIQUE INDEX sources_live_name ON sources(name) WHERE removed_at IS NULL;
"#,
    // 5: launch and search at a million messages (issue 7).
    // - Per-source totals, kept up to date by the code that changes the
    //   messages, in the same transaction (see `adjust_counts` and
    //   `Inserter::finish`), so the sidebar, the tray and `stats` read one row
    //   per source instead of counting every message at launch. Not triggers:
    //   a trigger makes every INSERT open a statement journal, and FTS5 writes
    //   its pending index out at each one (measured: 4x the instructions per
    //   message; see the README's performance section).
    // - The search index also indexes the first character of every token
    //   (`prefix = '1'`, counted in characters), so a one-character Chinese
    //   query reads one doclist newest first instead of merging the doclists
    //   of every bigram that starts with it. The index is rebuilt from the
    //   messages, once.
    r#"
CREATE TABLE message_counts (
    source_id INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    stored    INTEGER NOT NULL DEFAULT 0,
    unread    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO message_counts (source_id, stored, unread)
    SELECT source_id, count(*), sum(read = 0) FROM messages GROUP BY source_id;

DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    title, body, tags,
    content = 'messages_search', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1'
);
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
"#,
];

/// Migrations that rebuild a table others refer to. They run with foreign
/// keys off, as SQLite's documented procedure for such changes requires
/// (otherwise dropping the old table would cascade), and the references
/// are checked before they commit.
const REBUILDS: &[usize] = &[3];

/// Brings the database up to the latest schema, one transaction per migration.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let applied: usize = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let rebuild = REBUILDS.contains(&index);
        if rebuild {
            connection.pragma_update(None, "foreign_keys", false)?;
        }
        let outcome = apply(connection, index, sql, rebuild);
        if rebuild {
            connection.pragma_update(None, "foreign_keys", true)?;
        }
        outcome?;
    }
    Ok(())
}

fn apply(
    connection: &mut Connection,
    index: usize,
    sql: &str,
    rebuild: bool,
) -> Result<(), StoreError> {
    // Take the write lock first, then look again: two processes opening a
    // new database at once (the window and a `herald` command) must not both
    // apply the same step.
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let applied: usize = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if applied > index {
        return Ok(());
    }
    transaction.execute_batch(sql)?;
    if rebuild {
        let broken: i64 =
            transaction.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })?;
        if broken > 0 {
            return Err(StoreError::Invalid(crate::i18n::count(
                "error.migration_orphans",
                broken.unsigned_abs(),
                &[("step", &(index + 1).to_string())],
            )));
        }
    }
    transaction.pragma_update(None, "user_version", index + 1)?;
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, so the checksums below do not depend on a hasher that may change.
    fn checksum(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// One entry per shipped migration. Adding a migration adds a line here;
    /// a mismatch means a shipped migration was edited, which would leave
    /// existing databases on a different schema from new ones.
    const SHIPPED: &[u64] = &[
        0x6781_3cf3_950b_c78e,
        0xd45d_807e_a522_a60e,
        0xe353_9d6f_5d1f_3521,
        0x2fb0_6494_0fb5_284e,
        0x7763_17f3_f37d_337b,
    ];

    #[test]
    fn shipped_migrations_are_never_edited() {
        let actual: Vec<String> = MIGRATIONS
            .iter()
            .map(|sql| format!("{:#x}", checksum(sql)))
            .collect();
        let shipped: Vec<String> = SHIPPED.iter().map(|sum| format!("{sum:#x}")).collect();
        assert_eq!(
            &actual[..shipped.len()],
            &shipped[..],
            "a shipped migration changed; add a new migration instead"
        );
        assert_eq!(
            actual.len(),
            shipped.len(),
            "record the checksum of each new migration in SHIPPED"
        );
    }

    #[test]
    fn migrations_apply_from_scratch_and_are_idempotent() {
        let mut connection = Connection::open_in_memory().expect("in-memory database");
        crate::store::register_functions(&connection).expect("functions");
        migrate(&mut connection).expect("first run applies every migration");
        migrate(&mut connection).expect("a second run is a no-op");
        let version: usize = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, MIGRATIONS.len());
        let check: String = connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("integrity check");
        assert_eq!(check, "ok");
        connection
            .execute(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .expect("the search index matches its content view");
    }

    #[test]
    fn migration_5_counts_existing_messages_and_reindexes_them() {
        let mut connection = Connection::open_in_memory().expect("in-memory database");
        crate::store::register_functions(&connection).expect("functions");
        for sql in &MIGRATIONS[..4] {
            connection.execute_batch(sql).expect("migrations 1 to 4");
        }
        connection
            .pragma_update(None, "user_version", 4)
            .expect("version 4");
        connection
            .execute_batch(
                "INSERT INTO sources (id, name, protocol, url, created_at, updated_at)
                     VALUES (1, 'a', 'ntfy', 'ws://x/a/ws', 0, 0), (2, 'b', 'ntfy', 'ws://x/b/ws', 0, 0);
                 INSERT INTO messages (source_id, remote_id, received_at, sent_at, title, body, format, priority, read)
                     VALUES (1, 'm1', 0, 0, '仓库', 'x', 'text', 3, 0),
                            (1, 'm2', 0, 0, 'y', '库存告警', 'text', 3, 1),
                            (2, 'm3', 0, 0, 'z', 'w', 'text', 3, 0);
                 INSERT INTO messages_fts (rowid, title, body, tags)
                     SELECT id, title, body, tags FROM messages_search;",
            )
            .expect("a version-4 inbox");
        migrate(&mut connection).expect("migration 5 applies over existing messages");
        let counts: Vec<(i64, i64, i64)> = connection
            .prepare("SELECT source_id, stored, unread FROM message_counts ORDER BY source_id")
            .expect("counts")
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .expect("counts")
            .collect::<rusqlite::Result<_>>()
            .expect("counts");
        assert_eq!(
            counts,
            [(1, 2, 1), (2, 1, 1)],
            "existing messages are counted"
        );
        let found: i64 = connection
            .query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"库\"*'",
                [],
                |row| row.get(0),
            )
            .expect("a one-character search");
        assert_eq!(found, 2, "the rebuilt index finds 仓库 and 库存");
        connection
            .execute(
                "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)",
                [],
            )
            .expect("the rebuilt index matches its content view");
    }

    #[test]
    fn connections_opening_a_new_database_at_once_migrate_it_once() {
        // As the window and `herald` commands started together would: each
        // sees a new file, and all but one must find the work done. Several
        // rounds, since the race is a matter of timing.
        for round in 0..10 {
            let directory = tempfile::tempdir().expect("tempdir");
            let path = directory.path().join("h.db");
            let racers: Vec<_> = (0..6)
                .map(|_| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        crate::store::Store::open(&path, crate::store::BatchLimits::default())
                            .map(|store| store.close())
                    })
                })
                .collect();
            for racer in racers {
                racer
                    .join()
                    .expect("no panic")
                    .unwrap_or_else(|error| panic!("round {round}: {error}"));
            }
        }
    }

    #[test]
    fn rebuilding_sources_keeps_their_messages_and_references() {
        let mut connection = Connection::open_in_memory().expect("in-memory database");
        crate::store::register_functions(&connection).expect("functions");
        connection
            .pragma_update(None, "foreign_keys", true)
            .expect("foreign keys on, as Herald opens every connection");
        for (index, sql) in MIGRATIONS.iter().enumerate().take(3) {
            connection.execute_batch(sql).expect("older migration");
            connection
                .pragma_update(None, "user_version", index + 1)
                .expect("version");
        }
        connection
            .execute_batch(
                "INSERT INTO sources (id, name, protocol, url, created_at, updated_at)
                     VALUES (1, 'alerts', 'ntfy', 'wss://h/alerts/ws', 0, 0);
                 INSERT INTO messages (source_id, remote_id, received_at, sent_at, title, body, format, priority)
                     VALUES (1, 'a', 0, 0, 't', 'b', 'text', 3);",
            )
            .expect("a source with a message at version 3");
        migrate(&mut connection).expect("migrates to the latest version");
        let messages: i64 = connection
            .query_row(
                "SELECT count(*) FROM messages WHERE source_id = 1",
                [],
                |row| row.get(0),
            )
            .expect("count");
        assert_eq!(messages, 1, "the rebuild must not cascade into messages");
        let foreign_keys: bool = connection
            .query_row("PRAGMA foreign_keys", [], |row| row.get(0))
            .expect("pragma");
        assert!(foreign_keys, "foreign keys are back on after the rebuild");
        connection
            .execute(
                "INSERT INTO sources (name, protocol, url, created_at, updated_at)
                     VALUES ('orders', 'stomp', 'ws://h/ws', 0, 0)",
                [],
            )
            .expect("the new protocols are accepted");
        connection
            .execute("DELETE FROM sources WHERE id = 1", [])
            .expect("delete");
        let messages: i64 = connection
            .query_row("SELECT count(*) FROM messages", [], |row| row.get(0))
            .expect("count");
        assert_eq!(messages, 0, "messages still cascade with their source");
    }

    #[test]
    fn a_database_from_a_newer_herald_is_refused() {
        let mut connection = Connection::open_in_memory().expect("in-memory database");
        connection
            .pragma_update(None, "user_version", 999)
            .expect("set version");
        let error = migrate(&mut connection).expect_err("newer schema must not be touched");
        assert!(error.to_string().contains("newer"), "{error}");
    }
}
