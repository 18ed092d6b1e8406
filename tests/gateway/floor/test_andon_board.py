"""The Andon board's refresh: colours saved before a restart, and a bounded number of changes per refresh."""

from __future__ import annotations

from pathlib import Path

from config.load import load_config
from gateway.floor.andon_board import CHANGES_PER_COMMIT, AndonBoard
from gateway.plant import Plant
from gateway.service import Service
from rules.andon import Colour

PLANT = """\
site: t
storage: {{path: "{db}"}}
items:
  - {{sku: BOLT, unit_weight_g: 10}}
bins:
""" + "".join(
    f"  - {{{{id: B{i}, sku: BOLT, line: L1, station: S{i}, container_qty: 100, reorder_point: 30}}}}\n"
    for i in range(5)
)


def board(
    tmp_path: Path, *, saved: dict[str, Colour] | None = None, max_changes: int = CHANGES_PER_COMMIT
) -> AndonBoard:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT.format(db=tmp_path / "state.db"))
    service = Service(Plant.of(load_config(path, env={})))
    return AndonBoard(
        config=service.config, engine=service.engine, floor=service.floor, committer=service.committer,
        saved=saved, max_changes=max_changes,
    )


def test_a_large_first_evaluation_is_spread_over_refreshes_and_loses_no_station(tmp_path: Path) -> None:
    andon = board(tmp_path, max_changes=2)
    changed = [[e.subject for e in andon.refresh(float(tick))] for tick in range(4)]
    assert changed == [["L1/S0", "L1/S1"], ["L1/S2", "L1/S3"], ["L1/S4"], []]
    assert andon.colours() == dict.fromkeys(("L1/S0", "L1/S1", "L1/S2", "L1/S3", "L1/S4"), "green")


def test_saved_colours_are_shown_at_once_and_only_differences_become_events(tmp_path: Path) -> None:
    andon = board(tmp_path, saved={"L1/S0": "green", "L1/S1": "red", "L9/gone": "red"})
    assert andon.colours() == {"L1/S0": "green", "L1/S1": "red"}  # a station no longer configured is dropped
    changes = andon.refresh(0.0)
    assert [(e.subject, e.colour, e.previous) for e in changes] == [
        ("L1/S1", "green", "red"), ("L1/S2", "green", None), ("L1/S3", "green", None), ("L1/S4", "green", None),
    ]
