"""SQLite state: bin state, signals, alarms, the event log and rejection counters.

One writer connection, used from one thread; it writes whole batches in one transaction (group commit).
A separate reader connection serves the API; WAL mode lets it read while the writer writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.sqlite_db import connect, transaction
from gateway.state.cards import (
    CARDS_MIGRATION,
    STATE_SQL,
    IdempotentAnswer,
    SignalQuery,
    query_signals,
    signal_record,
    state_of,
    state_row,
    write_answer,
    write_change,
    write_release,
)
from gateway.state.consumption import CONSUMPTION_MIGRATION, SampleRow, read_samples, write_samples
from gateway.state.documents import DOCUMENTS_MIGRATION, DocumentChange, write_documents
from gateway.state.floor import ANDON_MIGRATION, FLOOR_MIGRATION, FloorBatch, FloorReads, write_floor
from rules.analytics import Sample
from rules.events import Event, SensorRecovered, SensorStale, SignalChanged, SignalReleased
from rules.scale_bin import BinState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bin_state (
    bin_id TEXT PRIMARY KEY, armed INTEGER NOT NULL, open_signal TEXT, signals_released INTEGER NOT NULL,
    stale INTEGER NOT NULL, pieces INTEGER, weight_g REAL, last_ts REAL, last_seen REAL
);
CREATE TABLE IF NOT EXISTS signals (
    id TEXT PRIMARY KEY, bin_id TEXT NOT NULL, sku TEXT NOT NULL, line TEXT NOT NULL, station TEXT NOT NULL,
    supplier TEXT, quantity INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    released_at REAL NOT NULL, pieces_at_release INTEGER NOT NULL,
    closed_at REAL, pieces_at_close INTEGER, close_reason TEXT
);
CREATE INDEX IF NOT EXISTS signals_by_status ON signals (status, released_at);
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY, bin_id TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cleared')), raised_at REAL NOT NULL, cleared_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_alarm ON alarms (bin_id, kind) WHERE status = 'active';
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, bin_id TEXT NOT NULL, ts REAL NOT NULL,
    body TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS unpublished_events ON events (published) WHERE published = 0;
CREATE TABLE IF NOT EXISTS rejections (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""

EVENT_LOG_MIGRATION = "CREATE INDEX IF NOT EXISTS events_by_ts ON events (ts)"

_MIGRATIONS = (
    _SCHEMA,  # 1: bins, signals, alarms of bins, events, rejections
    FLOOR_MIGRATION,  # 2: stations, counters; alarms keyed by subject, with acknowledgement
    CARDS_MIGRATION,  # 3: loops of N cards, the signal lifecycle, transitions, idempotent answers
    CONSUMPTION_MIGRATION,  # 4: consumption counter and its sampled history, for analytics
    EVENT_LOG_MIGRATION,  # 5: events by time, so retention finds the old ones without reading the log
    ANDON_MIGRATION,  # 6: each station's last Andon colour, so a restart logs only the colours that changed
    DOCUMENTS_MIGRATION,  # 7: documents delivery targets (ERPs) made for signals
)
"""Schema steps in order: a database at version n runs steps n+1 onwards, each in its own transaction."""
SCHEMA_VERSION = len(_MIGRATIONS)


class StoreError(Exception):
    """The database cannot be opened or written."""


def storage_failure(exc: BaseException) -> bool:
    """Whether an error of a write is the storage's (I/O, disk full, locked, damaged file) rather than the data's.

    SQLite reports the storage's problems as `OperationalError`, `InternalError` or a plain `DatabaseError`
    ("database disk image is malformed"); a value it cannot bind (`OverflowError`, `InterfaceError`), a broken
    constraint (`IntegrityError`) or a body that is not what the store expects is the data's.
    """
    return isinstance(exc, sqlite3.OperationalError | sqlite3.InternalError) or type(exc) is sqlite3.DatabaseError


@dataclass(slots=True)
class Batch:
    """What one cause (a message, an API call, the service's own work) has staged: a part of a transaction."""

    events: list[tuple[Event, dict[str, Any]]] = field(default_factory=list)
    states: dict[str, BinState] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    published: list[int] = field(default_factory=list)  # event seqs that went out on MQTT
    answers: list[IdempotentAnswer] = field(default_factory=list)  # API answers to keep with their effects
    heartbeat: float | None = None  # written even when nothing else is, so a dead disk shows in /healthz
    floor: FloorBatch = field(default_factory=FloorBatch)
    samples: list[SampleRow] = field(default_factory=list)  # consumption history
    keep_samples_after: float | None = None
    prune_events: EventPrune | None = None
    documents: list[DocumentChange] = field(default_factory=list)  # made or cancelled by delivery targets


@dataclass(frozen=True, slots=True)
class EventPrune:
    """Delete, oldest first and at most `PRUNE_CHUNK` of them, events committed before `before` that were
    published and are at or below `up_to` (what the connectors have taken)."""

    before: float
    up_to: int


PRUNE_CHUNK = 5000  # rows per transaction: a busy plant logs ~50 events/s, pruned once a minute


class Store:
    """The service's durable state."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = connect(path)
            _migrate(self._writer)
            self._reader = connect(path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        self.path = path
        self._read_lock = threading.Lock()
        self.floor = FloorReads(self._query)
        self.damage: str | None = None  # what an integrity check after start-up found wrong (`gateway.state.files`)

    def close(self) -> None:
        """Close both connections."""
        self._writer.close()
        self._reader.close()

    # --- writing (one thread only) -------------------------------------------------------------

    def write(self, *parts: Batch) -> list[tuple[int, str]]:
        """Write `parts` in one transaction, each in a savepoint of its own.

        A part the database cannot take (a value out of SQLite's range, a broken constraint: its data, not the
        disk) is rolled back alone and returned as (index, reason), and the others are committed. A storage
        failure (I/O error, disk full, a damaged file) writes nothing and raises `StoreError`.
        """
        refused: list[tuple[int, str]] = []
        try:
            with transaction(self._writer) as cur:
                for index, part in enumerate(parts):
                    cur.execute("SAVEPOINT part")
                    try:
                        self._write_part(cur, part)
                    except Exception as exc:
                        if storage_failure(exc):
                            raise
                        cur.execute("ROLLBACK TO part")
                        refused.append((index, f"{type(exc).__name__}: {exc}"))
                    cur.execute("RELEASE part")
        except sqlite3.Error as exc:
            raise StoreError(f"write to {self.path} failed: {exc}") from exc
        return refused

    def _write_part(self, cur: sqlite3.Cursor, batch: Batch) -> None:
        for event, body in batch.events:
            self._apply(cur, event, body)
        cur.executemany(STATE_SQL, [state_row(bin_id, st) for bin_id, st in batch.states.items()])
        for answer in batch.answers:
            write_answer(cur, answer)
        cur.executemany(
            "INSERT INTO rejections VALUES (?, ?) ON CONFLICT (reason) DO UPDATE SET count = ?",
            [(reason, n, n) for reason, n in batch.rejections.items()],
        )
        write_floor(cur, batch.floor)
        write_documents(cur, batch.documents)
        if batch.samples or batch.keep_samples_after is not None:
            write_samples(cur, batch.samples, batch.keep_samples_after)
        cur.executemany("UPDATE events SET published = 1 WHERE seq = ?", [(s,) for s in batch.published])
        if (prune := batch.prune_events) is not None:
            # By the ts index: only old rows are read, however long the log (a seq-ordered scan would
            # read every recent row, in the writer's transaction, to find none).
            cur.execute(
                "DELETE FROM events WHERE seq IN (SELECT seq FROM events INDEXED BY events_by_ts"
                " WHERE ts < ? AND published = 1 AND seq <= ? LIMIT ?)",
                (prune.before, prune.up_to, PRUNE_CHUNK),
            )
        if batch.heartbeat is not None:
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('heartbeat', ?)", (str(batch.heartbeat),))

    def _apply(self, cur: sqlite3.Cursor, event: Event, body: dict[str, Any]) -> None:
        cur.execute(
            "INSERT INTO events (kind, bin_id, ts, body) VALUES (?, ?, ?, ?)",
            (event.kind, event.bin_id, event.ts, json.dumps(body)),
        )
        body["seq"] = cur.lastrowid
        match event:
            case SignalReleased():
                write_release(cur, event, body)
            case SignalChanged():
                write_change(cur, event)
            case SensorStale():
                cur.execute(
                    "INSERT OR IGNORE INTO alarms (subject, kind, status, raised_at)"
                    " VALUES (?, 'sensor_stale', 'active', ?)",
                    (event.bin_id, event.ts),
                )
            case SensorRecovered():
                cur.execute(
                    "UPDATE alarms SET status = 'cleared', cleared_at = ?"
                    " WHERE subject = ? AND kind = 'sensor_stale' AND status != 'cleared'",
                    (event.ts, event.bin_id),
                )

    # --- reading ---------------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            return self._reader.execute(sql, args).fetchall()

    def bin_states(self) -> dict[str, BinState]:
        """The saved state of every bin."""
        return {r["bin_id"]: state_of(r) for r in self._query("SELECT * FROM bin_state")}

    def rejection_counts(self) -> dict[str, int]:
        """Saved rejection counters by reason."""
        return {r["reason"]: r["count"] for r in self._query("SELECT reason, count FROM rejections")}

    def signals(self, query: SignalQuery) -> list[dict[str, Any]]:
        """Signals matching `query`, newest first, each with its transitions."""
        with self._read_lock:
            return query_signals(self._reader.cursor(), query)

    def signal(self, signal_id: str) -> dict[str, Any] | None:
        """One signal with its transitions, or None."""
        with self._read_lock:
            return signal_record(self._reader.cursor(), signal_id)

    def samples(self, bin_id: str, since: float) -> list[Sample]:
        """A loop's consumption samples from `since`, oldest first."""
        with self._read_lock:
            return read_samples(self._reader.cursor(), bin_id, since)

    def document(self, signal_id: str, target: str) -> tuple[str, bool] | None:
        """The document a target made for a signal and whether it was cancelled, or None."""
        rows = self._query(
            "SELECT document_id, cancelled_at FROM signal_documents WHERE signal_id = ? AND target = ?",
            (signal_id, target),
        )
        return (rows[0]["document_id"], rows[0]["cancelled_at"] is not None) if rows else None

    def signal_of_document(self, target: str, document_id: str) -> str | None:
        """The signal a target made `document_id` for, or None."""
        rows = self._query(
            "SELECT signal_id FROM signal_documents WHERE target = ? AND document_id = ?", (target, document_id)
        )
        return str(rows[0]["signal_id"]) if rows else None

    def idempotent_answer(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The request an `Idempotency-Key` was first used for and the signal it answered, or None."""
        rows = self._query("SELECT request, answer FROM idempotency WHERE key = ?", (key,))
        return (rows[0]["request"], json.loads(rows[0]["answer"])) if rows else None

    def unpublished_events(self, limit: int = 1000) -> list[tuple[int, str, str]]:
        """Committed events not yet published on MQTT: (seq, bin_id, body)."""
        rows = self._query(
            "SELECT seq, bin_id, body FROM events WHERE published = 0 ORDER BY seq LIMIT ?", (limit,)
        )
        return [(r["seq"], r["bin_id"], r["body"]) for r in rows]

    def identity(self) -> dict[str, str] | None:
        """The database's identity (`database_id`, `site`, `created_at`), None for a database made before them."""
        rows = self._query("SELECT key, value FROM meta WHERE key IN ('database_id', 'site', 'created_at')")
        found = {r["key"]: r["value"] for r in rows}
        return found if len(found) == len(IDENTITY_KEYS) else None

    def set_identity(self, identity: dict[str, str]) -> None:
        """Record the database's identity (once: for a database made before identities)."""
        with transaction(self._writer) as cur:
            _write_identity(cur, identity)

    def number_events_after(self, seq: int) -> None:
        """Give the next committed event a seq above `seq`: events up to it went out from another database."""
        with transaction(self._writer) as cur:
            if cur.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'events'", (seq,)).rowcount == 0:
                cur.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", (seq,))

    def last_event_seq(self) -> int:
        """The seq of the newest event ever committed (kept in the log or already pruned), 0 when there is none."""
        rows = self._query("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        return int(rows[0]["seq"]) if rows else 0

    def events_after(self, seq: int, limit: int) -> list[tuple[int, str]]:
        """Committed events after `seq`, oldest first: (seq, body)."""
        rows = self._query("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))
        return [(r["seq"], r["body"]) for r in rows]


IDENTITY_KEYS = ("database_id", "site", "created_at")


def _write_identity(cur: sqlite3.Cursor | sqlite3.Connection, identity: Mapping[str, object]) -> None:
    cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, str(identity[k])) for k in IDENTITY_KEYS])


def create_database(path: Path, identity: Mapping[str, object]) -> None:
    """A new database at `path` with its schema and identity, made under another name and then renamed into
    place, so that a crash while it is made never leaves a half-made (or empty) file at `path`."""
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    try:
        # A rollback journal, not WAL, while it is made: once closed, everything is in the one file to rename.
        conn = sqlite3.connect(temporary, isolation_level=None)
        try:
            _migrate(conn)
            conn.execute("BEGIN IMMEDIATE")
            _write_identity(conn, identity)
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename survives a power cut
        finally:
            os.close(directory)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot create database {path}: {exc}") from exc


def _migrate(conn: sqlite3.Connection) -> None:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
    version = int(row[0]) if row else 0
    if version > SCHEMA_VERSION:
        raise StoreError(f"database schema {version} is newer than this program's ({SCHEMA_VERSION})")
    for number, step in enumerate(_MIGRATIONS[version:], start=version + 1):
        try:
            conn.executescript(  # the steps are this module's constants, not input
                f"BEGIN IMMEDIATE; {step}; INSERT OR REPLACE INTO meta VALUES ('schema_version', '{number}'); COMMIT;"  # noqa: S608
            )
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
