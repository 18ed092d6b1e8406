"""SQLite state of the shop floor: counters, station WIP and the alarms table, in the service's database.

`FLOOR_MIGRATION` is one step of the store's ordered migrations; `write_floor` runs inside the store's
transaction, so floor effects commit together with everything else in the batch.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from rules.alarms import Alarm, AlarmStatus
from rules.andon import Colour
from rules.counters import CounterState
from rules.events import AlarmAcknowledged, AlarmCleared, AlarmKind, AlarmRaised, AndonChanged, FloorEvent
from rules.floor import FloorChange
from rules.stations import StationState

FLOOR_MIGRATION = """
CREATE TABLE alarms_new (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'acknowledged', 'cleared')),
    raised_at REAL NOT NULL, acknowledged_at REAL, cleared_at REAL, detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO alarms_new (id, subject, kind, status, raised_at, cleared_at)
    SELECT id, bin_id, kind, status, raised_at, cleared_at FROM alarms;
DROP TABLE alarms;
ALTER TABLE alarms_new RENAME TO alarms;
CREATE UNIQUE INDEX one_open_alarm ON alarms (subject, kind) WHERE status != 'cleared';
CREATE INDEX alarms_by_status ON alarms (status, raised_at);
CREATE TABLE station_state (
    station_id TEXT PRIMARY KEY, wip INTEGER NOT NULL, units_in INTEGER NOT NULL, units_out INTEGER NOT NULL,
    updated_at REAL
);
-- TEXT: a uint64 counter does not fit SQLite's signed 64-bit INTEGER.
CREATE TABLE counter_state (counter_id TEXT PRIMARY KEY, value TEXT NOT NULL, ts REAL NOT NULL);
"""

ANDON_MIGRATION = """
CREATE TABLE andon_colours (station TEXT PRIMARY KEY, colour TEXT NOT NULL, ts REAL NOT NULL);
"""


@dataclass(slots=True)
class FloorBatch:
    """The floor's part of one transaction."""

    events: list[tuple[FloorEvent, dict[str, Any]]] = field(default_factory=list)
    counters: dict[str, CounterState] = field(default_factory=dict)
    stations: dict[str, StationState] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.counters or self.stations)

    def add(self, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
        """Stage a change; `bodies` are the published forms of its events, in order."""
        self.events.extend(zip(change.events, bodies, strict=True))
        self.counters.update(change.counters)
        self.stations.update(change.stations)


def write_floor(cur: sqlite3.Cursor, batch: FloorBatch) -> None:
    """Write the floor's part of a batch (inside the caller's transaction); sets each body's seq and alarm_id."""
    for event, body in batch.events:
        if isinstance(event, AlarmRaised | AlarmAcknowledged | AlarmCleared):
            body["alarm_id"] = _apply_alarm(cur, event)
        cur.execute(
            "INSERT INTO events (kind, bin_id, ts, body) VALUES (?, ?, ?, ?)",
            (event.kind, event.subject, event.ts, json.dumps(body)),
        )
        body["seq"] = cur.lastrowid
    cur.executemany(
        "INSERT OR REPLACE INTO andon_colours VALUES (?, ?, ?)",
        [(event.subject, event.colour, event.ts) for event, _ in batch.events if isinstance(event, AndonChanged)],
    )
    cur.executemany(
        "INSERT OR REPLACE INTO counter_state VALUES (?, ?, ?)",
        [(cid, str(st.value), st.ts) for cid, st in batch.counters.items()],
    )
    cur.executemany(
        "INSERT OR REPLACE INTO station_state VALUES (?, ?, ?, ?, ?)",
        [(sid, st.wip, st.units_in, st.units_out, st.updated_at) for sid, st in batch.stations.items()],
    )


def _apply_alarm(cur: sqlite3.Cursor, event: AlarmRaised | AlarmAcknowledged | AlarmCleared) -> int | None:
    match event:
        case AlarmRaised():
            cur.execute(
                "INSERT OR IGNORE INTO alarms (subject, kind, status, raised_at, detail) VALUES (?, ?, 'active', ?, ?)",
                (event.subject, event.alarm_kind, event.ts, event.detail),
            )
        case AlarmAcknowledged():
            cur.execute(
                "UPDATE alarms SET status = 'acknowledged', acknowledged_at = ?"
                " WHERE subject = ? AND kind = ? AND status = 'active'",
                (event.ts, event.subject, event.alarm_kind),
            )
        case AlarmCleared():
            cur.execute(
                "UPDATE alarms SET status = 'cleared', cleared_at = ?"
                " WHERE subject = ? AND kind = ? AND status != 'cleared'",
                (event.ts, event.subject, event.alarm_kind),
            )
    row = cur.execute(
        "SELECT max(id) FROM alarms WHERE subject = ? AND kind = ?", (event.subject, event.alarm_kind)
    ).fetchone()
    return cast("int | None", row[0])


Query = Callable[[str, tuple[Any, ...]], list[sqlite3.Row]]


class FloorReads:
    """Reads of the floor's tables, through the store's reader connection."""

    def __init__(self, query: Query) -> None:
        self._query = query

    def counter_states(self) -> dict[str, CounterState]:
        """The last accepted value of every counter."""
        rows = self._query("SELECT * FROM counter_state", ())
        return {r["counter_id"]: CounterState(value=int(r["value"]), ts=r["ts"]) for r in rows}

    def station_states(self) -> dict[str, StationState]:
        """The saved WIP of every station."""
        rows = self._query("SELECT * FROM station_state", ())
        return {
            r["station_id"]: StationState(
                wip=r["wip"], units_in=r["units_in"], units_out=r["units_out"], updated_at=r["updated_at"]
            )
            for r in rows
        }

    def andon_colours(self) -> dict[str, Colour]:
        """The last committed colour of every station (`<line>/<station>`) that has had one."""
        rows = self._query("SELECT station, colour FROM andon_colours", ())
        return {r["station"]: cast("Colour", r["colour"]) for r in rows}

    def open_alarms(self) -> list[Alarm]:
        """Alarms that are active or acknowledged."""
        return [alarm_of(r) for r in self._query("SELECT * FROM alarms WHERE status != 'cleared'", ())]

    def alarms(self, *, open_only: bool, limit: int) -> list[dict[str, Any]]:
        """Alarm rows, newest first."""
        where = "WHERE status != 'cleared'" if open_only else ""
        rows = self._query(f"SELECT * FROM alarms {where} ORDER BY raised_at DESC, id DESC LIMIT ?", (limit,))  # noqa: S608
        return [dict(r) for r in rows]

    def alarm(self, alarm_id: int) -> dict[str, Any] | None:
        """One alarm row, or None."""
        rows = self._query("SELECT * FROM alarms WHERE id = ?", (alarm_id,))
        return dict(rows[0]) if rows else None


def alarm_of(row: sqlite3.Row | dict[str, Any]) -> Alarm:
    """An alarm row as the rules see it."""
    return Alarm(
        subject=row["subject"], kind=cast("AlarmKind", row["kind"]), status=cast("AlarmStatus", row["status"]),
        raised_at=row["raised_at"], detail=row["detail"], acknowledged_at=row["acknowledged_at"],
        cleared_at=row["cleared_at"],
    )
