"""SQLite state of kanban cards: signals with their lifecycle, every transition, idempotent API answers.

`CARDS_MIGRATION` is one step of the store's ordered migrations: the one open signal per bin of the
first schema becomes card 1 of its loop. The functions here run inside the store's transactions.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.state.documents import documents_of
from rules.cards import CLOSED_STATUSES, OPEN_STATUSES, Card
from rules.events import SignalChanged, SignalReleased
from rules.scale_bin import BinState

if TYPE_CHECKING:
    from collections.abc import Mapping

CARDS_MIGRATION = """
ALTER TABLE bin_state ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bin_state ADD COLUMN open_cards TEXT NOT NULL DEFAULT '[]';
ALTER TABLE bin_state ADD COLUMN low_water INTEGER;
UPDATE bin_state SET depth = 1 - armed;
UPDATE bin_state SET open_cards = (SELECT json_array(json_array(1, s.id, 'released', s.released_at))
    FROM signals s WHERE s.id = bin_state.open_signal) WHERE open_signal IS NOT NULL;
ALTER TABLE bin_state DROP COLUMN armed;
ALTER TABLE bin_state DROP COLUMN open_signal;
DROP INDEX signals_by_status;
ALTER TABLE signals RENAME TO signals_v1;
CREATE TABLE signals (
    id TEXT PRIMARY KEY, bin_id TEXT NOT NULL, card INTEGER NOT NULL, sku TEXT NOT NULL, line TEXT NOT NULL,
    station TEXT NOT NULL, supplier TEXT, quantity INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('released', 'acknowledged', 'shipped', 'received', 'cancelled')),
    released_at REAL NOT NULL, pieces_at_release INTEGER, released_by TEXT NOT NULL DEFAULT 'scale',
    urgent INTEGER NOT NULL DEFAULT 0, stockout INTEGER NOT NULL DEFAULT 0,
    acknowledged_at REAL, shipped_at REAL, shipped_qty INTEGER, asn TEXT,
    closed_at REAL, pieces_at_close INTEGER, close_reason TEXT
);
INSERT INTO signals (id, bin_id, card, sku, line, station, supplier, quantity, status, released_at,
        pieces_at_release, closed_at, pieces_at_close, close_reason)
    SELECT id, bin_id, 1, sku, line, station, supplier, quantity,
        CASE status WHEN 'open' THEN 'released' ELSE 'received' END, released_at, pieces_at_release, closed_at,
        pieces_at_close, CASE close_reason WHEN 'refilled' THEN 'refill' ELSE close_reason END
    FROM signals_v1;
DROP TABLE signals_v1;
CREATE INDEX signals_by_time ON signals (released_at, id);
CREATE TABLE transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, signal_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    ts REAL NOT NULL, by TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX transitions_by_signal ON transitions (signal_id, seq);
INSERT INTO transitions (signal_id, kind, status, ts, by, detail)
    SELECT id, 'signal_released', 'released', released_at, 'scale', '{}' FROM signals ORDER BY released_at;
INSERT INTO transitions (signal_id, kind, status, ts, by, detail)
    SELECT id, 'signal_received', 'received', closed_at, 'scale', json_object('reason', close_reason)
    FROM signals WHERE status = 'received' ORDER BY closed_at;
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY, request TEXT NOT NULL, answer TEXT NOT NULL, created_at REAL NOT NULL
)
"""

STATE_SQL = (
    "INSERT OR REPLACE INTO bin_state (bin_id, signals_released, stale, pieces, weight_g, last_ts, last_seen,"
    " depth, open_cards, low_water, consumed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class IdempotentAnswer:
    """An API call made with an `Idempotency-Key`: its answer is the signal as committed."""

    key: str
    request: str  # method and path, so a key reused for another request is told apart
    signal_id: str
    ts: float


def state_row(bin_id: str, st: BinState) -> tuple[Any, ...]:
    """A bin's durable state as a `bin_state` row (for `STATE_SQL`)."""
    cards = json.dumps([[c.number, c.signal_id, c.status, c.released_at, c.tag] for c in st.open_cards])
    return (bin_id, st.signals_released, int(st.stale), st.pieces, st.weight_g, st.last_ts, st.last_seen,
            st.depth, cards, st.low_water, st.consumed)


def state_of(row: sqlite3.Row) -> BinState:
    """A `bin_state` row as the rules' state."""
    return BinState(
        depth=row["depth"], open_cards=tuple(Card(*c) for c in json.loads(row["open_cards"])),
        signals_released=row["signals_released"], stale=bool(row["stale"]), pieces=row["pieces"],
        weight_g=row["weight_g"], last_ts=row["last_ts"], last_seen=row["last_seen"], low_water=row["low_water"],
        consumed=row["consumed"],
    )


def write_release(cur: sqlite3.Cursor, event: SignalReleased, body: Mapping[str, Any]) -> None:
    """A new signal row and its first transition; where the loop is and what it holds, from the event's body."""
    cur.execute(
        "INSERT OR IGNORE INTO signals (id, bin_id, card, sku, line, station, supplier, quantity, status,"
        " released_at, pieces_at_release, released_by, urgent, stockout)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'released', ?, ?, ?, ?, ?)",
        (event.signal_id, event.bin_id, event.card, body["sku"], body["line"], body["station"], body["supplier"],
         body["quantity"], event.ts, event.pieces, event.by, int(event.urgent), int(event.stockout)),
    )
    _transition(cur, event.signal_id, kind=event.kind, status="released", ts=event.ts, by=event.by,
                detail={"pieces": event.pieces})


def write_change(cur: sqlite3.Cursor, event: SignalChanged) -> None:
    """A signal's new status and the transition that led to it."""
    status = event.kind.removeprefix("signal_")
    cur.execute(_CHANGE_SQL[event.kind], (status, *_change_args(event), event.signal_id))
    detail = {"pieces": event.pieces, "quantity": event.quantity, "asn": event.asn, "reason": event.reason}
    _transition(cur, event.signal_id, kind=event.kind, status=status, ts=event.ts, by=event.by,
                detail={k: v for k, v in detail.items() if v is not None})


def write_answer(cur: sqlite3.Cursor, answer: IdempotentAnswer) -> None:
    """Keep the signal as this transaction leaves it as the answer to an idempotent request."""
    record = signal_record(cur, answer.signal_id)
    cur.execute(
        "INSERT OR IGNORE INTO idempotency VALUES (?, ?, ?, ?)",
        (answer.key, answer.request, json.dumps(record), answer.ts),
    )


@dataclass(frozen=True, slots=True)
class SignalQuery:
    """Which signals to list: status (a lifecycle status, `open`, `closed` or `all`), filters, a page."""

    status: str = "all"
    supplier: str | None = None
    line: str | None = None
    bin_id: str | None = None
    since: float | None = None
    before: tuple[float, str] | None = None  # cursor: (released_at, id) of the last signal already seen
    limit: int = 100

    def where(self) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause and its arguments."""
        clauses: list[str] = []
        args: list[Any] = []
        if self.status in ("open", "closed"):
            statuses = OPEN_STATUSES if self.status == "open" else CLOSED_STATUSES
            clauses.append(f"status IN ({', '.join('?' * len(statuses))})")
            args += statuses
        elif self.status != "all":
            clauses.append("status = ?")
            args.append(self.status)
        for column, value in (("supplier", self.supplier), ("line", self.line), ("bin_id", self.bin_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.since is not None:
            clauses.append("released_at >= ?")
            args.append(self.since)
        if self.before is not None:
            clauses.append("(released_at < ? OR (released_at = ? AND id < ?))")
            args += [self.before[0], self.before[0], self.before[1]]
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def query_signals(cur: sqlite3.Cursor, query: SignalQuery) -> list[dict[str, Any]]:
    """Signals matching `query`, newest first, each with its transitions."""
    where, args = query.where()
    rows = cur.execute(
        f"SELECT * FROM signals {where} ORDER BY released_at DESC, id DESC LIMIT ?",  # noqa: S608
        (*args, query.limit),
    ).fetchall()
    return [_with_transitions(cur, dict(r)) for r in rows]


def signal_record(cur: sqlite3.Cursor, signal_id: str) -> dict[str, Any] | None:
    """One signal with its transitions, or None."""
    row = cur.execute("SELECT * FROM signals WHERE id = ?", (signal_id,)).fetchone()
    return _with_transitions(cur, dict(row)) if row else None


_CHANGE_SQL = {
    "signal_acknowledged": "UPDATE signals SET status = ?, acknowledged_at = ? WHERE id = ?",
    "signal_shipped": "UPDATE signals SET status = ?, shipped_at = ?, shipped_qty = ?, asn = ? WHERE id = ?",
    "signal_received": "UPDATE signals SET status = ?, closed_at = ?, pieces_at_close = ?, close_reason = ?"
    " WHERE id = ?",
    "signal_cancelled": "UPDATE signals SET status = ?, closed_at = ?, pieces_at_close = ?, close_reason = ?"
    " WHERE id = ?",
}


def _change_args(event: SignalChanged) -> tuple[Any, ...]:
    if event.kind == "signal_acknowledged":
        return (event.ts,)
    if event.kind == "signal_shipped":
        return (event.ts, event.quantity, event.asn)
    return (event.ts, event.pieces, event.reason)


def _transition(
    cur: sqlite3.Cursor, signal_id: str, *, kind: str, status: str, ts: float, by: str, detail: dict[str, Any]
) -> None:
    cur.execute(
        "INSERT INTO transitions (signal_id, kind, status, ts, by, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (signal_id, kind, status, ts, by, json.dumps(detail)),
    )


def _with_transitions(cur: sqlite3.Cursor, row: dict[str, Any]) -> dict[str, Any]:
    steps = cur.execute(
        "SELECT kind, status, ts, by, detail FROM transitions WHERE signal_id = ? ORDER BY seq", (row["id"],)
    ).fetchall()
    row["transitions"] = [dict(step) | {"detail": json.loads(step["detail"])} for step in steps]
    row["documents"] = documents_of(cur, row["id"])
    return row
