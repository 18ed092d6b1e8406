"""SQLite history for replenishment analytics: each loop's consumption counter and level, sampled.

`CONSUMPTION_MIGRATION` is one step of the store's ordered migrations.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from rules.analytics import Sample

CONSUMPTION_MIGRATION = """
ALTER TABLE bin_state ADD COLUMN consumed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE consumption (
    bin_id TEXT NOT NULL, ts REAL NOT NULL, consumed INTEGER NOT NULL, pieces INTEGER,
    PRIMARY KEY (bin_id, ts)
) WITHOUT ROWID;
CREATE INDEX consumption_by_ts ON consumption (ts)
"""

SampleRow = tuple[str, float, int, int | None]
"""(bin id, time, consumption counter, pieces)."""


def write_samples(cur: sqlite3.Cursor, rows: Sequence[SampleRow], keep_after: float | None) -> None:
    """Append samples; drop those older than `keep_after`."""
    cur.executemany("INSERT OR REPLACE INTO consumption VALUES (?, ?, ?, ?)", rows)
    if keep_after is not None:
        cur.execute("DELETE FROM consumption WHERE ts < ?", (keep_after,))


def read_samples(cur: sqlite3.Cursor, bin_id: str, since: float) -> list[Sample]:
    """A loop's samples from `since`, oldest first."""
    rows = cur.execute(
        "SELECT ts, consumed, pieces FROM consumption WHERE bin_id = ? AND ts >= ? ORDER BY ts", (bin_id, since)
    ).fetchall()
    return [Sample(r[0], r[1], r[2]) for r in rows]
