"""How the service opens its SQLite files (the outbox, and the gateway's state database): WAL, full sync, one
transaction helper."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rows by column name."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed signal survives power loss too, not only a killed process. Group commit keeps
    # this to one fsync per batch.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Cursor]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn.cursor()
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
