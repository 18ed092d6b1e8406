"""The floor's tables: a database of the first schema is migrated, and floor state round-trips."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.state.floor import FloorBatch
from gateway.state.store import _MIGRATIONS, SCHEMA_VERSION, Batch, Store, StoreError
from rules.counters import CounterState
from rules.events import AlarmAcknowledged, AlarmCleared, AlarmRaised, WipChanged
from rules.floor import FloorChange
from rules.stations import StationState


def version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


def test_first_schema_database_is_migrated_keeping_its_alarms(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(_MIGRATIONS[0])
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("INSERT INTO alarms (bin_id, kind, status, raised_at) VALUES ('B1', 'sensor_stale', 'active', 5)")
    store = Store(path)
    try:
        assert version(path) == SCHEMA_VERSION
        [alarm] = store.floor.open_alarms()
        assert (alarm.subject, alarm.kind, alarm.status, alarm.raised_at) == ("B1", "sensor_stale", "active", 5.0)
    finally:
        store.close()
    Store(path).close()  # opening again migrates nothing
    assert version(path) == SCHEMA_VERSION


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="newer"):
        Store(path)


def write(store: Store, *events: object, **states: object) -> list[dict[str, object]]:
    bodies: list[dict[str, object]] = [{"type": getattr(e, "kind", "")} for e in events]
    batch = Batch(floor=FloorBatch())
    batch.floor.add(FloorChange(events=list(events), **states), bodies)  # type: ignore[arg-type]
    store.write(batch)
    return bodies


def test_alarm_lifecycle_and_states_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    try:
        [raised] = write(
            store, AlarmRaised(subject="S1", alarm_kind="wip_limit", ts=1.0, detail="WIP 12 >= 10"),
            counters={"plc1/in": CounterState(value=(1 << 64) - 1, ts=1.0)},
            stations={"S1": StationState(wip=12, units_in=12, units_out=0, updated_at=1.0)},
        )
        assert isinstance(raised["seq"], int)
        alarm_id = raised["alarm_id"]
        assert isinstance(alarm_id, int)
        [acked] = write(store, AlarmAcknowledged(subject="S1", alarm_kind="wip_limit", ts=2.0, detail="WIP 12 >= 10"))
        assert acked["alarm_id"] == alarm_id
        assert store.floor.alarm(alarm_id)["status"] == "acknowledged"  # type: ignore[index]
        write(store, WipChanged(subject="S1", ts=3.0, wip=5, delta=-7, reason="counted"),
              AlarmCleared(subject="S1", alarm_kind="wip_limit", ts=3.0, detail="WIP 12 >= 10"))
        row = store.floor.alarm(alarm_id)
        assert row is not None
        assert (row["status"], row["acknowledged_at"], row["cleared_at"]) == ("cleared", 2.0, 3.0)
        assert store.floor.open_alarms() == []
        assert [a["id"] for a in store.floor.alarms(open_only=False, limit=10)] == [alarm_id]
        assert store.floor.counter_states() == {"plc1/in": CounterState(value=(1 << 64) - 1, ts=1.0)}
        assert store.floor.station_states()["S1"].wip == 12
        kinds = [body for _, _, body in store.unpublished_events()]
        assert len(kinds) == 4
    finally:
        store.close()
