"""The store-and-forward outbox: a SQLite file (WAL) of items waiting for, or done with, their consumer.

Each item belongs to one consumer (`webhook:<supplier>`, `influx`) and carries its own delivery status,
attempt count and next attempt time. Appends come in batches (one transaction, one fsync per batch).
The number of undelivered items is capped: beyond it the oldest are dropped, counted per consumer.

`fed_seq` records the last event of the state database's log that was fanned out into the outbox, in the
same transaction as the items, so after a crash the events after it are fed again and none is lost.

All writing methods run on one thread (the connectors' writer); `items`, `get` and `stats` are for the API
and use their own connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from connectors.sqlite_db import connect, transaction

Status = Literal["pending", "delivered", "dead"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT, consumer TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
    created REAL NOT NULL, payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, updated REAL NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS items_due ON items (consumer, status, next_at);
CREATE INDEX IF NOT EXISTS items_by_status ON items (status, id);
CREATE TABLE IF NOT EXISTS dropped (consumer TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""


class OutboxError(Exception):
    """The outbox file cannot be opened or written."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A new item: for `consumer`, identified by `key` (an event id), with its payload text."""

    consumer: str
    key: str
    kind: str
    created: float
    payload: str


@dataclass(frozen=True, slots=True)
class Item:
    """A stored item and its delivery state."""

    id: int
    consumer: str
    key: str
    kind: str
    created: float
    payload: str
    status: Status
    attempts: int
    next_at: float
    updated: float
    last_error: str | None


def _item(row: sqlite3.Row) -> Item:
    return Item(**dict(row))


class Outbox:
    """One outbox file."""

    def __init__(self, path: Path, *, max_items: int, keep_delivered: int) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = connect(path)
            self._db.executescript(_SCHEMA)
            self._reader = connect(path)
            (self._undelivered,) = self._db.execute(
                "SELECT count(*) FROM items WHERE status != 'delivered'"
            ).fetchone()
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(f"cannot open outbox {path}: {exc}") from exc
        self.path = path
        self._max_items = max_items
        self._keep_delivered = keep_delivered
        self._read_lock = threading.Lock()

    def close(self) -> None:
        """Close both connections."""
        self._db.close()
        self._reader.close()

    def claim(self, database_id: str) -> None:
        """Record the state database this outbox belongs to, unless it already belongs to one."""
        self._run("INSERT OR IGNORE INTO meta VALUES ('state_database_id', ?)", (database_id,))

    def _run(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as exc:
            raise OutboxError(f"write to {self.path} failed: {exc}") from exc

    # --- writer thread ---------------------------------------------------------------------------

    def fed_seq(self) -> int | None:
        """The last event seq fanned out into the outbox, or None for a new outbox."""
        row = self._run("SELECT value FROM meta WHERE key = 'fed_seq'").fetchone()
        return int(row["value"]) if row else None

    def append(self, entries: Sequence[Entry], *, fed_seq: int | None = None) -> dict[str, int]:
        """Add items (and move `fed_seq`) in one transaction; returns the items dropped per consumer."""
        try:
            with transaction(self._db) as cur:
                cur.executemany(
                    "INSERT INTO items (consumer, key, kind, created, payload, updated) VALUES (?, ?, ?, ?, ?, ?)",
                    [(e.consumer, e.key, e.kind, e.created, e.payload, e.created) for e in entries],
                )
                if fed_seq is not None:
                    cur.execute("INSERT OR REPLACE INTO meta VALUES ('fed_seq', ?)", (str(fed_seq),))
                dropped = self._enforce_cap(cur, len(entries))
        except sqlite3.Error as exc:
            raise OutboxError(f"write to {self.path} failed: {exc}") from exc
        self._undelivered += len(entries) - sum(dropped.values())
        return dropped

    def _enforce_cap(self, cur: sqlite3.Cursor, added: int) -> dict[str, int]:
        over = self._undelivered + added - self._max_items
        if over <= 0:
            return {}
        rows = cur.execute(
            "DELETE FROM items WHERE id IN (SELECT id FROM items WHERE status != 'delivered' ORDER BY id LIMIT ?)"
            " RETURNING consumer",
            (over,),
        ).fetchall()
        dropped: dict[str, int] = {}
        for row in rows:
            dropped[row["consumer"]] = dropped.get(row["consumer"], 0) + 1
        cur.executemany(
            "INSERT INTO dropped VALUES (?, ?) ON CONFLICT (consumer) DO UPDATE SET count = count + ?",
            [(consumer, n, n) for consumer, n in dropped.items()],
        )
        return dropped

    def next_due(self, consumer: str, now: float) -> Item | None:
        """The pending item of `consumer` that is due, oldest first; None when none is due."""
        row = self._run(
            "SELECT * FROM items WHERE consumer = ? AND status = 'pending' AND next_at <= ? ORDER BY next_at, id"
            " LIMIT 1",
            (consumer, now),
        ).fetchone()
        return _item(row) if row else None

    def next_wake(self, consumer: str) -> float | None:
        """When the next pending item of `consumer` falls due, or None when nothing is pending."""
        row = self._run(
            "SELECT min(next_at) AS t FROM items WHERE consumer = ? AND status = 'pending'", (consumer,)
        ).fetchone()
        return None if row["t"] is None else float(row["t"])

    def oldest(self, consumer: str, limit: int) -> list[Item]:
        """The oldest pending items of `consumer`, in the order they were appended."""
        rows = self._run(
            "SELECT * FROM items WHERE consumer = ? AND status = 'pending' ORDER BY id LIMIT ?", (consumer, limit)
        ).fetchall()
        return [_item(r) for r in rows]

    def delivered(self, ids: Iterable[int], now: float, *, keep: bool) -> None:
        """Mark items delivered: kept for the API when `keep` (the newest `keep_delivered`), else removed."""
        ids = list(ids)
        try:
            with transaction(self._db) as cur:
                if keep:
                    cur.executemany(
                        "UPDATE items SET status = 'delivered', updated = ?, last_error = NULL WHERE id = ?",
                        [(now, i) for i in ids],
                    )
                    self._prune_delivered(cur)
                else:
                    cur.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids])
        except sqlite3.Error as exc:
            raise OutboxError(f"write to {self.path} failed: {exc}") from exc
        self._undelivered -= len(ids)

    def _prune_delivered(self, cur: sqlite3.Cursor) -> None:
        cur.execute(
            "DELETE FROM items WHERE status = 'delivered' AND id <= ("
            " SELECT id FROM items WHERE status = 'delivered' ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (self._keep_delivered,),
        )

    def failed(self, item_id: int, *, error: str, now: float, next_at: float | None) -> None:
        """Record a failed attempt; `next_at` None dead-letters the item."""
        status = "dead" if next_at is None else "pending"
        self._run(
            "UPDATE items SET attempts = attempts + 1, status = ?, next_at = ?, updated = ?, last_error = ?"
            " WHERE id = ?",
            (status, next_at or now, now, error[:500], item_id),
        )

    def retry(self, item_id: int, now: float) -> Item | None:
        """Make an item pending and due now, with a fresh attempt count; None for an unknown id."""
        row = self._run(
            "UPDATE items SET status = 'pending', attempts = 0, next_at = ?, updated = ?, created = ?"
            " WHERE id = ? RETURNING *",
            (now, now, now, item_id),
        ).fetchone()
        if row is None:
            return None
        self._undelivered = self._run("SELECT count(*) FROM items WHERE status != 'delivered'").fetchone()[0]
        return _item(row)

    # --- reading (API) ---------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._read_lock:
            return self._reader.execute(sql, args).fetchall()

    def items(self, *, status: Status | None, consumer_prefix: str, limit: int) -> list[Item]:
        """Items newest first, optionally of one status, whose consumer starts with `consumer_prefix`."""
        where = "consumer >= ? AND consumer < ?" + ("" if status is None else " AND status = ?")
        args: tuple[Any, ...] = (consumer_prefix, consumer_prefix + "\uffff")
        args += () if status is None else (status,)
        rows = self._query(f"SELECT * FROM items WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit))  # noqa: S608
        return [_item(r) for r in rows]

    def get(self, item_id: int) -> Item | None:
        """One item, or None."""
        rows = self._query("SELECT * FROM items WHERE id = ?", (item_id,))
        return _item(rows[0]) if rows else None

    def stats(self) -> dict[str, dict[str, int]]:
        """Per consumer: items by status and items dropped by the size cap."""
        out: dict[str, dict[str, int]] = {}
        for row in self._query("SELECT consumer, status, count(*) AS n FROM items GROUP BY consumer, status"):
            out.setdefault(row["consumer"], {})[row["status"]] = row["n"]
        for row in self._query("SELECT consumer, count FROM dropped"):
            out.setdefault(row["consumer"], {})["dropped"] = row["count"]
        return out



@dataclass(frozen=True, slots=True)
class Owner:
    """Which state database an outbox belongs to (None: made before owners were recorded), and the last of its
    events the outbox has taken (None: none yet)."""

    database_id: str | None
    fed_seq: int | None


def read_owner(path: Path) -> Owner | None:
    """The owner recorded in an outbox file; None when there is no outbox file."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        conn = connect(path)
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
                return Owner(None, None)
            meta = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('state_database_id', 'fed_seq')"))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot read outbox {path}: {exc}") from exc
    fed = meta.get("fed_seq")
    return Owner(meta.get("state_database_id"), None if fed is None else int(fed))


def set_owner(path: Path, owner: Owner) -> None:
    """Record the state database an outbox belongs to (and, when given, the last of its events it has taken)."""
    fed = None if owner.fed_seq is None else str(owner.fed_seq)
    rows = [("state_database_id", owner.database_id), ("fed_seq", fed)]
    try:
        conn = connect(path)
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            with transaction(conn) as cur:
                cur.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [r for r in rows if r[1] is not None])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot write outbox {path}: {exc}") from exc
