"""`kanban-edge run` loads the plant file in a child process while it imports the service: the plant and
every error message must be the same as loading it in the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from config.load import ConfigError, load_config
from gateway.load_ahead import LoadAhead
from gateway.plant import Plant

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example-plant.yaml"

BAD_PLAIN = """\
site: t
items:
  - {sku: BOLT, unit_weight_g: 10}
bins:
  - {id: B1, sku: NUT, line: L1, station: S1, container_qty: 100, reorder_point: 30}
  - {id: B2, sku: BOLT, line: L1, station: S2, container_qty: 100, reorder_point: 30, colour: red}
"""
# An anchor sends the file to the composer: its lines come back with the data.
BAD_ANCHORED = """\
site: t
items:
  - &bolt {sku: BOLT, unit_weight_g: 10}
bins:
  - {id: B1, sku: NUT, line: L1, station: S1, container_qty: 100, reorder_point: 300}
"""


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [str(issue) for issue in caught.value.issues]


def issues_from_the_child(path: Path) -> list[str]:
    loaded = LoadAhead(path).result()
    assert isinstance(loaded, ConfigError)
    return [str(issue) for issue in loaded.issues]


def test_the_child_loads_the_same_plant_as_this_process() -> None:
    loaded = LoadAhead(EXAMPLE).result()
    assert isinstance(loaded, Plant)
    here = Plant.of(load_config(EXAMPLE))
    assert loaded == here
    assert loaded.loops  # the example has bins, carried over with every setting
    assert loaded.config.bins == []


@pytest.mark.parametrize("text", [BAD_PLAIN, BAD_ANCHORED], ids=["plain", "anchored"])
def test_errors_name_the_same_lines(tmp_path: Path, text: str) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(text)
    expected = issues_of(plant)
    assert expected  # the file is bad
    assert issues_from_the_child(plant) == expected


def test_an_unreadable_file_is_reported_as_in_this_process(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert issues_from_the_child(missing) == issues_of(missing)
    assert issues_of(missing)[0].startswith(f"{missing}:1: cannot read file:")


def test_run_with_a_bad_plant_file_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(BAD_PLAIN)
    proc = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(plant)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [*issues_of(plant), f"{plant}: 2 error(s)"]


def test_without_fork_the_file_is_left_to_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork(method: str) -> None:
        raise ValueError(f"cannot find context for {method!r}")

    monkeypatch.setattr("gateway.load_ahead.multiprocessing.get_context", no_fork)
    assert LoadAhead(EXAMPLE).result() is None
