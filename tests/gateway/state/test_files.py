"""A state database that knows itself: each way of losing or damaging it is refused with what to do, and
`--new-state` starts afresh without deleting anything."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from config.plant import PlantConfig
from connectors.outbox import Owner, read_owner, set_owner
from gateway.state.files import StateRefusedError, marker_path, open_state
from gateway.state.store import Batch, Store
from rules.events import SignalReleased
from tests.conftest import ROOT
from tests.loops import logged


def plant(tmp_path: Path, site: str = "plant-7") -> PlantConfig:
    return PlantConfig.model_validate({"site": site, "storage": {"path": str(tmp_path / "state.db")}})


def with_signals(tmp_path: Path, count: int, site: str = "plant-7") -> Store:
    """A state database as a running plant leaves it: `count` signals in its log."""
    store = open_state(plant(tmp_path, site), new_state=False, now=1.0)
    for start in range(0, count, 500):
        releases = [SignalReleased("B1", f"B1-{i}", 1, 1.0, 20, "scale") for i in range(start, min(count, start + 500))]
        store.write(Batch(events=[logged(event) for event in releases]))
    return store


def refusal(tmp_path: Path, site: str = "plant-7") -> str:
    with pytest.raises(StateRefusedError) as refused:
        open_state(plant(tmp_path, site), new_state=False, now=2.0)
    return str(refused.value)


def test_a_new_plant_gets_a_database_that_records_its_site_and_a_marker_beside_it(tmp_path: Path) -> None:
    store = open_state(plant(tmp_path), new_state=False, now=1.0)
    identity = store.identity()
    store.close()
    assert identity is not None
    assert identity["site"] == "plant-7"
    assert json.loads(marker_path(tmp_path / "state.db").read_text())["database_id"] == identity["database_id"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.db", "state.db.id"]  # nothing half-made left


def test_a_database_emptied_while_the_service_was_stopped_is_refused_not_taken_for_a_new_plant(tmp_path: Path) -> None:
    with_signals(tmp_path, 2500).close()
    (tmp_path / "state.db").write_bytes(b"")

    message = refusal(tmp_path)
    assert "state.db is empty (0 bytes), but there was one" in message
    assert "remembers database" in message
    assert "docs/OPERATIONS.md" in message
    assert "--new-state" in message


def test_a_missing_database_is_refused_when_its_outbox_remembers_it(tmp_path: Path) -> None:
    with_signals(tmp_path, 10).close()
    set_owner(tmp_path / "state-outbox.db", Owner("cafe", 10))
    (tmp_path / "state.db").unlink()
    marker_path(tmp_path / "state.db").unlink()

    assert "is missing, but there was one: its outbox has taken its events up to #10" in refusal(tmp_path)


def test_an_empty_file_nothing_remembers_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"")
    assert "is empty (0 bytes)" in refusal(tmp_path)


def test_a_truncated_database_is_refused_as_damaged(tmp_path: Path) -> None:
    with_signals(tmp_path, 2500).close()
    path = tmp_path / "state.db"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    message = refusal(tmp_path)
    assert f"is damaged: it is truncated: {len(data) // 2} bytes of {len(data)}" in message
    assert "restore the database from a backup" in message


def test_garbage_in_place_of_the_database_is_refused_as_damaged(tmp_path: Path) -> None:
    with_signals(tmp_path, 10).close()
    (tmp_path / "state.db").write_bytes(b"\x00garbage" * 1000)
    assert "is damaged: it is not a SQLite database" in refusal(tmp_path)


def test_a_damaged_page_is_found_by_the_integrity_check(tmp_path: Path) -> None:
    with_signals(tmp_path, 2500).close()
    path = tmp_path / "state.db"
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 5: page * 5 + 300] = b"\xff" * 300  # inside the event log's pages; the header is intact
    path.write_bytes(bytes(data))
    assert "is damaged:" in refusal(tmp_path)


def test_the_database_of_another_site_is_refused(tmp_path: Path) -> None:
    with_signals(tmp_path, 10, site="plant-7").close()
    message = refusal(tmp_path, site="plant-8")
    assert "belongs to site 'plant-7', and the plant file says 'plant-8'" in message


def test_new_state_moves_the_old_database_aside_and_numbers_events_after_those_the_outbox_took(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = with_signals(tmp_path, 40)
    old_id = old.identity()
    old.close()
    outbox = tmp_path / "state-outbox.db"
    set_owner(outbox, Owner(old_id["database_id"] if old_id else None, 40))
    (tmp_path / "state.db").write_bytes(b"")

    with caplog.at_level(logging.WARNING):
        store = open_state(plant(tmp_path), new_state=True, now=1_764_600_000.0)
    identity = store.identity()
    store.write(Batch(events=[logged(SignalReleased("B1", "B1-new", 1, 1.0, 20, "scale"))]))
    assert store.last_event_seq() == 41  # event ids stay unique for suppliers and the event stream
    store.close()
    assert identity is not None
    assert identity["database_id"] != (old_id or {}).get("database_id")
    assert read_owner(outbox) == Owner(identity["database_id"], 40)
    assert (tmp_path / "state.db.replaced-20251201T144000").exists()
    assert "kept as" in caplog.text


def test_a_database_restored_from_an_older_backup_goes_on_after_the_events_already_delivered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = with_signals(tmp_path, 30)
    identity = store.identity()
    store.close()
    set_owner(tmp_path / "state-outbox.db", Owner(identity["database_id"] if identity else None, 55))

    with caplog.at_level(logging.WARNING):
        restored = open_state(plant(tmp_path), new_state=False, now=2.0)
    restored.write(Batch(events=[logged(SignalReleased("B1", "B1-after", 1, 2.0, 20, "scale"))]))
    assert restored.last_event_seq() == 56
    restored.close()
    assert "ends at event #30, but the outbox took events up to #55" in caplog.text


def test_a_database_made_before_identities_is_adopted_by_its_plant(tmp_path: Path) -> None:
    Store(tmp_path / "state.db").close()  # the schema without an identity, as earlier versions left it
    store = open_state(plant(tmp_path), new_state=False, now=3.0)
    identity = store.identity()
    store.close()
    assert identity is not None
    assert identity["site"] == "plant-7"


def test_kanban_edge_run_exits_3_with_the_reason_and_the_way_out(tmp_path: Path) -> None:
    with_signals(tmp_path, 10).close()
    (tmp_path / "state.db").write_bytes(b"")
    config = tmp_path / "plant.yaml"
    config.write_text(f'site: plant-7\nstorage: {{path: "{tmp_path / "state.db"}"}}\napi: {{port: 0}}\n')

    run = subprocess.run([sys.executable, "-m", "gateway", "run", "--config", str(config)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 3
    assert "is empty (0 bytes), but there was one" in run.stderr
    assert "Traceback" not in run.stderr
    with sqlite3.connect(tmp_path / "state.db") as conn:  # nothing was written to the file
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
