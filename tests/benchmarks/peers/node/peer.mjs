// Herald benchmark peer: what a user might write instead of Herald with
// Node.js, `ws` and `better-sqlite3`. It subscribes to an ntfy WebSocket
// and stores every message the way Herald's writer does: the same schema,
// pragmas, statements, column values and search-index folding, committed
// in batches. See ../README.md for the command-line contract.
//
//   node peer.mjs --url ws://127.0.0.1:PORT/bench/ws --db herald.db \
//                 --source-id 1 --expected 200000

import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import WebSocket from 'ws';

// Herald's INSERT_MESSAGE_SQL and INSERT_FTS_SQL (src-tauri/core/src/store/writer.rs),
// with plain `?` for its `?1`…`?18`: better-sqlite3 binds positional
// arguments only to anonymous parameters.
const INSERT_MESSAGE_SQL =
  'INSERT INTO messages (source_id, remote_id, received_at, sent_at, expires_at, topic, title, body, format, priority, raw_priority, tags, click, icon, actions, attachment, group_key, extras) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source_id, remote_id) DO NOTHING';
const INSERT_FTS_SQL = 'INSERT INTO messages_fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)';

/** Commit once this many frames are in the open transaction. */
const BATCH_ROWS = 1000;

// --- Search folding: a port of fold_for_index (src-tauri/core/src/search_text.rs).

/** A run of the characters Herald's `is_cjk` accepts: kana, Han, Hangul syllables. */
const CJK_RUN =
  /[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF\u{20000}-\u{2FA1F}]+/gu;

/** "库存告警" → " 库存 存告 告警 警 ": overlapping bigrams, then the last character. */
function foldRun(run) {
  const characters = Array.from(run); // code points, not UTF-16 units
  let out = ' ';
  for (let i = 0; i + 1 < characters.length; i++) {
    out += characters[i] + characters[i + 1] + ' ';
  }
  return out + characters[characters.length - 1] + ' ';
}

/** The text Herald indexes for `text`; text without CJK comes back unchanged. */
function foldForIndex(text) {
  return text.replace(CJK_RUN, foldRun);
}

// --- Column values, as Herald's ntfy parser and DerivedColumns produce them.

/**
 * JSON text as serde_json writes a `Value`: compact, object keys sorted
 * (its maps are BTreeMaps), non-ASCII left as is.
 */
function toJson(value) {
  if (Array.isArray(value)) {
    return `[${value.map(toJson).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${toJson(value[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Herald drops empty strings for click and icon. */
const nonEmpty = (text) => (text == null || text === '' ? null : text);

/** Herald's 1–5 scale; ntfy leaves out the default (3). */
const clampPriority = (priority) => (priority == null ? 3 : Math.min(5, Math.max(1, priority)));

/** One frame as an ntfy event: a JSON object with a string `event`. */
function parseEvent(text) {
  let event;
  try {
    event = JSON.parse(text);
  } catch (error) {
    throw new Error(`not an ntfy event: ${error.message}`);
  }
  if (event === null || typeof event !== 'object' || typeof event.event !== 'string') {
    throw new Error(`not an ntfy event: ${text.slice(0, 200)}`);
  }
  return event;
}

// --- The peer.

function parseOptions() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      db: { type: 'string' },
      'source-id': { type: 'string' },
      expected: { type: 'string' },
    },
    strict: true,
  });
  for (const name of ['url', 'db', 'source-id', 'expected']) {
    if (values[name] === undefined) throw new Error(`--${name} is required`);
  }
  const positive = (name) => {
    const number = Number(values[name]);
    if (!Number.isSafeInteger(number) || number < 1) {
      throw new Error(`--${name} must be a positive integer, not ${values[name]}`);
    }
    return number;
  };
  return {
    url: values.url,
    db: values.db,
    sourceId: positive('source-id'),
    expected: positive('expected'),
  };
}

/** Opens the existing database as Herald opens every connection (store::open_connection). */
function openDatabase(path) {
  let db;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 10_000 });
  } catch (error) {
    throw new Error(`${path}: ${error.message}`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  // The schema's messages_search view calls it; Herald registers it everywhere.
  db.function('herald_fold', { deterministic: true }, (text) =>
    text == null ? null : foldForIndex(String(text)),
  );
  return db;
}

function main() {
  const options = parseOptions();
  const db = openDatabase(options.db);
  // herald-bench reports which SQLite each peer ran on.
  process.stdout.write(`sqlite ${db.prepare('SELECT sqlite_version()').pluck().get()}\n`);
  const insertMessage = db.prepare(INSERT_MESSAGE_SQL);
  const insertFts = db.prepare(INSERT_FTS_SQL);
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');

  let stored = 0; // rows inserted (duplicates are not counted)
  let pending = 0; // frames in the open transaction
  let flushScheduled = false;
  let finished = false;

  const fail = (error) => {
    if (finished) return;
    finished = true;
    process.stderr.write(`node peer: ${error?.message ?? error}\n`);
    process.exit(1);
  };

  const flush = () => {
    if (pending > 0) {
      commit.run();
      pending = 0;
    }
  };

  /** Stores one ntfy `message` event; returns whether a new row was inserted. */
  const store = (event) => {
    const id = event.id;
    if (typeof id !== 'string' || id === '') throw new Error('message event without an id');
    if (!Number.isSafeInteger(event.time)) throw new Error(`message ${id} has no time`);
    const title = event.title ?? '';
    const body = event.message ?? '';
    const tags = Array.isArray(event.tags) && event.tags.length > 0 ? toJson(event.tags) : null;
    const inserted = insertMessage.run(
      options.sourceId,
      id,
      Date.now(), // received_at
      event.time * 1000, // sent_at: ntfy sends seconds
      event.expires == null ? null : event.expires * 1000,
      event.topic ?? null,
      title,
      body,
      event.content_type === 'text/markdown' ? 'markdown' : 'text',
      clampPriority(event.priority),
      event.priority ?? null, // raw_priority
      tags,
      nonEmpty(event.click),
      nonEmpty(event.icon),
      event.actions == null ? null : toJson(event.actions),
      event.attachment == null ? null : toJson(event.attachment),
      null, // group_key: set by Herald's routing rules only
      null, // extras: ntfy has none
    );
    if (inserted.changes === 0) return false;
    insertFts.run(
      inserted.lastInsertRowid,
      foldForIndex(title),
      foldForIndex(body),
      tags === null ? '' : foldForIndex(tags),
    );
    return true;
  };

  const socket = new WebSocket(options.url);

  const finish = () => {
    flush();
    finished = true;
    process.stdout.write(`done ${stored}\n`);
    db.close();
    socket.close(1000);
  };

  // Runs once the frames already read off the socket have been handled:
  // nothing more is waiting, so commit what is pending.
  const flushWhenIdle = () => {
    flushScheduled = false;
    if (!finished) flush();
  };

  socket.on('message', (data) => {
    if (finished) return;
    try {
      const event = parseEvent(data.toString());
      if (event.event !== 'message') return; // open, keepalive, …
      if (pending === 0) begin.run();
      pending += 1;
      if (store(event)) stored += 1;
      if (stored >= options.expected) {
        finish();
      } else if (pending >= BATCH_ROWS) {
        flush();
      } else if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flushWhenIdle);
      }
    } catch (error) {
      fail(error);
    }
  });
  socket.on('error', fail);
  socket.on('close', (code) => {
    if (!finished) {
      fail(new Error(`the server closed the socket (code ${code}) after ${stored} of ${options.expected} rows`));
    }
  });
}

try {
  main();
} catch (error) {
  process.stderr.write(`node peer: ${error?.message ?? error}\n`);
  process.exit(1);
}
