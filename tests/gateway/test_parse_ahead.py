"""`kanban-edge run` parses the plant file in a child process while it imports the service: the result and
every error message must be the same as parsing in the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.parse_ahead import ParseAhead
from gateway.yaml_source import load_yaml

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


def issues_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return [str(issue) for issue in caught.value.issues]


def test_the_child_parses_to_the_same_data_as_this_process() -> None:
    parsed = ParseAhead(EXAMPLE).result()
    assert parsed is not None
    assert parsed.data == load_yaml(EXAMPLE.read_text(), os.environ).data
    assert load_config(EXAMPLE, parsed=parsed) == load_config(EXAMPLE)


@pytest.mark.parametrize("text", [BAD_PLAIN, BAD_ANCHORED], ids=["plain", "anchored"])
def test_errors_name_the_same_lines(tmp_path: Path, text: str) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text(text)
    expected = issues_of(plant)
    assert expected  # the file is bad
    assert issues_of(plant, parsed=ParseAhead(plant).result()) == expected


def test_an_unreadable_file_is_left_to_this_process_which_says_why(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert ParseAhead(missing).result() is None
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
