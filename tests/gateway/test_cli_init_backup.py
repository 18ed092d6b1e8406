"""`kanban-edge init`, `backup` and `--version`: a starter file that passes its check, and consistent copies of
the state taken while it is written."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_init_writes_a_starter_plant_that_passes_check_config_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "edge-7")]) == 0
    plant = tmp_path / "edge-7" / "plant.yaml"
    assert "# " in plant.read_text()  # commented for the person who edits it
    assert main(["check-config", str(plant)]) == 0
    plant.write_text("site: mine\n")
    assert main(["init", str(tmp_path / "edge-7")]) == 1
    assert plant.read_text() == "site: mine\n"
    assert "exists" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("kanban-edge ")


def plant(tmp_path: Path) -> Path:
    config = tmp_path / "plant.yaml"
    config.write_text(f"site: s\nstorage: {{path: {tmp_path / 'state.db'}}}\n")
    return config


def test_backup_copies_state_and_outbox_consistently_while_they_are_written(tmp_path: Path) -> None:
    state, outbox = tmp_path / "state.db", tmp_path / "state-outbox.db"
    for path in (state, outbox):
        with sqlite3.connect(path) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, pair INTEGER NOT NULL)")
    done = threading.Event()

    def write() -> None:  # each transaction inserts two rows: a consistent copy holds an even number
        with sqlite3.connect(state) as db:
            n = 0
            while not done.is_set():
                db.execute("INSERT INTO t VALUES (?, ?), (?, ?)", (n, n, n + 1, n))
                db.commit()
                n += 2

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: sqlite3.connect(state).execute("SELECT count(*) FROM t").fetchone()[0], what="a first write")
        for _ in range(3):
            assert main(["backup", "--config", str(plant(tmp_path)), str(tmp_path / "backup")]) == 0
    finally:
        done.set()
        writer.join()
    with sqlite3.connect(tmp_path / "backup" / "state.db") as copy:
        rows = copy.execute("SELECT count(*) FROM t").fetchone()[0]
        assert rows > 0
        assert rows % 2 == 0
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal to carry along
    assert (tmp_path / "backup" / "state-outbox.db").is_file()
    assert not list((tmp_path / "backup").glob("*.partial"))


def test_backup_without_a_state_database_fails_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "--config", str(plant(tmp_path)), str(tmp_path / "backup")]) == 2
    assert "no state database" in capsys.readouterr().err
    assert not (tmp_path / "state.db").exists()  # not created by looking for it
