"""Herald benchmark peer: what a user might write instead of Herald with
Python, `websockets` and the standard library's `sqlite3`.

It subscribes to an ntfy WebSocket and stores every message the way
Herald's writer does: the same schema, pragmas, statements, column values
and search-index folding, committed in batches. See ../README.md for the
command-line contract.

    python peer.py --url ws://127.0.0.1:PORT/bench/ws --db herald.db \\
                   --source-id 1 --expected 200000
"""

import argparse
import asyncio
import json
import pathlib
import re
import sqlite3
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

# Herald's INSERT_MESSAGE_SQL and INSERT_FTS_SQL (src-tauri/core/src/store/writer.rs),
# with plain `?` for its `?1`…`?18`, as in the Node.js peer.
INSERT_MESSAGE_SQL = (
    "INSERT INTO messages (source_id, remote_id, received_at, sent_at, expires_at, topic, title,"
    " body, format, priority, raw_priority, tags, click, icon, actions, attachment, group_key,"
    " extras) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source_id, remote_id) DO NOTHING"
)
INSERT_FTS_SQL = "INSERT INTO messages_fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)"

# Commit once this many frames are in the open transaction.
BATCH_ROWS = 1000
# Commit when no frame arrives within this long (seconds): nothing is waiting.
IDLE_COMMIT = 0.005

# --- Search folding: a port of fold_for_index (src-tauri/core/src/search_text.rs).

# A run of the characters Herald's `is_cjk` accepts: kana, Han, Hangul
# syllables. Captured, so splitting on it puts the runs at the odd indexes.
CJK_RUNS = re.compile(
    "([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]+)"
)


def fold_for_index(text: str) -> str:
    """The text Herald indexes for `text`: each CJK run becomes its
    overlapping bigrams, then its last character ("库存告警" → " 库存 存告 告警 警 ");
    text without CJK comes back unchanged."""
    parts = CJK_RUNS.split(text)
    if len(parts) == 1:
        return text
    # One list comprehension over the runs: re.sub with a callback per run is slower.
    parts[1::2] = [
        " " + "".join([a + b + " " for a, b in zip(run, run[1:])]) + run[-1] + " "
        for run in parts[1::2]
    ]
    return "".join(parts)


# --- Column values, as Herald's ntfy parser and DerivedColumns produce them.


# JSON text as serde_json writes a `Value`: compact, object keys sorted (its
# maps are BTreeMaps), non-ASCII left as is. One encoder, built once
# (json.dumps with options builds a new one per call).
to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def clamp_priority(priority) -> int:
    """Herald's 1–5 scale; ntfy leaves out the default (3)."""
    return 3 if priority is None else min(5, max(1, priority))


def parse_event(frame: str | bytes) -> dict:
    """One frame as an ntfy event: a JSON object with a string `event`."""
    try:
        event = json.loads(frame)
    except ValueError as error:
        raise ValueError(f"not an ntfy event: {error}") from None
    if not isinstance(event, dict) or not isinstance(event.get("event"), str):
        raise ValueError(f"not an ntfy event: {frame[:200]!r}")
    return event


def message_row(event: dict, source_id: int) -> tuple[tuple, tuple]:
    """The messages row for one ntfy `message` event, and the search-index
    text (title, body, tags) to go with it."""
    remote_id = event.get("id")
    if not isinstance(remote_id, str) or not remote_id:
        raise ValueError("message event without an id")
    sent = event.get("time")
    if not isinstance(sent, int):
        raise ValueError(f"message {remote_id} has no time")
    expires = event.get("expires")
    title = event.get("title") or ""
    body = event.get("message") or ""
    tags = event.get("tags")
    tags = to_json(tags) if tags else None
    actions = event.get("actions")
    attachment = event.get("attachment")
    row = (
        source_id,
        remote_id,
        time.time_ns() // 1_000_000,  # received_at
        sent * 1000,  # sent_at: ntfy sends seconds
        None if expires is None else expires * 1000,
        event.get("topic"),
        title,
        body,
        "markdown" if event.get("content_type") == "text/markdown" else "text",
        clamp_priority(event.get("priority")),
        event.get("priority"),  # raw_priority
        tags,
        event.get("click") or None,  # Herald drops empty strings
        event.get("icon") or None,
        None if actions is None else to_json(actions),
        None if attachment is None else to_json(attachment),
        None,  # group_key: set by Herald's routing rules only
        None,  # extras: ntfy has none
    )
    search = (
        fold_for_index(title),
        fold_for_index(body),
        "" if tags is None else fold_for_index(tags),
    )
    return row, search


# --- The peer.


def open_database(path: str) -> sqlite3.Connection:
    """Opens the existing database as Herald opens every connection
    (store::open_connection). Transactions are explicit (autocommit mode)."""
    uri = pathlib.Path(path).resolve().as_uri() + "?mode=rw"  # must exist
    try:
        db = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None)
    except sqlite3.Error as error:
        raise RuntimeError(f"{path}: {error}") from None
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA temp_store = MEMORY")
    # The schema's messages_search view calls it; Herald registers it everywhere.
    db.create_function(
        "herald_fold",
        1,
        lambda text: None if text is None else fold_for_index(str(text)),
        deterministic=True,
    )
    return db


async def ingest(url: str, db: sqlite3.Connection, source_id: int, expected: int) -> None:
    """Stores message frames until `expected` rows are new, then says so."""
    cursor = db.cursor()
    stored = 0  # rows inserted (duplicates are not counted)
    pending = 0  # frames in the open transaction
    # No keepalive pings: a server streaming a backlog may not read (and so
    # not answer a ping) until it has sent everything, and websockets would
    # then drop a healthy connection after 40 s.
    async with connect(url, ping_interval=None) as socket:
        while stored < expected:
            try:
                if pending:
                    # Safe to cancel: a frame that arrives late is kept for the next recv().
                    async with asyncio.timeout(IDLE_COMMIT):
                        frame = await socket.recv()
                else:
                    frame = await socket.recv()
            except TimeoutError:
                cursor.execute("COMMIT")  # nothing more is waiting
                pending = 0
                continue
            except ConnectionClosed as closed:
                raise RuntimeError(
                    f"the server closed the socket ({closed}) after {stored} of {expected} rows"
                ) from None

            event = parse_event(frame)
            if event["event"] != "message":
                continue  # open, keepalive, …
            row, search = message_row(event, source_id)
            if not pending:
                cursor.execute("BEGIN IMMEDIATE")
            pending += 1
            cursor.execute(INSERT_MESSAGE_SQL, row)
            if cursor.rowcount == 1:
                cursor.execute(INSERT_FTS_SQL, (cursor.lastrowid, *search))
                stored += 1
            if pending >= BATCH_ROWS:
                cursor.execute("COMMIT")
                pending = 0
        if pending:
            cursor.execute("COMMIT")
        print(f"done {stored}", flush=True)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        """Usage errors exit 1, like every other failure (argparse uses 2)."""
        self.print_usage(sys.stderr)
        self.exit(1, f"python peer: {message}\n")


def main() -> int:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--source-id", type=int, required=True)
    parser.add_argument("--expected", type=int, required=True)
    args = parser.parse_args()
    if args.source_id < 1 or args.expected < 1:
        parser.error("--source-id and --expected must be positive")
    try:
        db = open_database(args.db)
        # herald-bench reports which SQLite each peer ran on.
        print(f"sqlite {sqlite3.sqlite_version}", flush=True)
        try:
            asyncio.run(ingest(args.url, db, args.source_id, args.expected))
        finally:
            db.close()
    except Exception as error:  # noqa: BLE001 - any failure ends the run
        print(f"python peer: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
