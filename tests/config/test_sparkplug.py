"""The `sparkplug:` section: every bad reference is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.load import ConfigError, load_config
from gateway.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SPARKPLUG.md"

# Line numbers are part of the contract: the comments give them.
PLANT = """\
site: t
items: [{sku: BOLT, unit_weight_g: 10}]
bins:
  - {id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, stale_after_s: 60}
plcs:
  - id: press1
    heartbeat_s: 30
    points: [{name: parts, address: 0, type: uint32, counter: {}}, {name: call, table: coil, address: 1, type: bool}]
  - {id: press2, host: 10.0.0.2, points: [{name: parts, address: 0}]}
sparkplug:
  nodes:
    - group: Plant 7
      node: line1
      metrics:
        - {device: scale-1, name: Scale/Weight, bin: B1, unit: kg}
        - {device: press-1, name: Counters/Good, point: press1/parts}
        - {device: press-1, name: Operator/Call, point: press1/call}
"""
# 12 group  13 node  14 metrics  15 weight  16 counter  17 material call


def load(tmp_path: Path, text: str) -> dict[tuple[int, str], str]:
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return {(issue.line, issue.path): issue.reason for issue in info.value.issues}


def test_a_good_section_loads(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT, encoding="utf-8")
    [node] = load_config(path, env={}).sparkplug.nodes
    assert (node.group, node.metrics[0].grams_per_unit, node.metrics[1].point) == ("Plant 7", 1000.0, "press1/parts")


def test_unknown_bins_and_points_are_located(tmp_path: Path) -> None:
    text = PLANT.replace("bin: B1,", "bin: B9,").replace("point: press1/call}", "point: press1/cal}")
    assert load(tmp_path, text) == {
        (15, "sparkplug.nodes[0].metrics[0].bin"): "unknown bin 'B9' (not in bins)",
        (17, "sparkplug.nodes[0].metrics[2].point"): "unknown point 'press1/cal' (no such point in plcs)",
    }


def test_one_source_per_input_and_per_metric(tmp_path: Path) -> None:
    text = PLANT.replace("name: Operator/Call, point: press1/call", "name: Counters/Good, point: press1/parts")
    assert load(tmp_path, text) == {
        (17, "sparkplug.nodes[0].metrics[2].name"): "metric 'Counters/Good' of device press-1 is mapped twice",
        (17, "sparkplug.nodes[0].metrics[2].point"): "point press1/parts is already fed by Plant 7/line1/press-1: "
                                                     "Counters/Good",
    }
    twice = PLANT + "    - {group: Plant 7, node: line1, metrics: [{name: x, bin: B1}]}\n"
    issues = load(tmp_path, twice)
    assert issues[(18, "sparkplug.nodes[1].node")] == "node line1 of group Plant 7 is listed twice"


def test_a_polled_plc_and_values_that_repeat_too_seldom_are_refused(tmp_path: Path) -> None:
    text = (PLANT.replace("point: press1/call}", "point: press2/parts}").replace("heartbeat_s: 30", "heartbeat_s: 10")
            .replace("sparkplug:\n", "sparkplug:\n  repeat_s: 60\n"))
    repeat = "within sparkplug.repeat_s (60 s): values repeat too seldom for it"
    assert load(tmp_path, text) == {
        (16, "sparkplug.nodes[0].metrics[0].bin"): f"bin B1 goes stale after 60 s, {repeat}",
        (17, "sparkplug.nodes[0].metrics[1].point"): f"PLC press1 goes offline after 30 s, {repeat}",
        (18, "sparkplug.nodes[0].metrics[2].point"): "PLC press2 is polled over Modbus (host or serial): its points "
                                                     "come from there",
    }


@pytest.mark.parametrize(
    ("old", "new", "line", "path", "reason"),
    [
        ("bin: B1, unit: kg", "unit: kg", 15, "sparkplug.nodes[0].metrics[0]",
         "give bin (a bin's weight) or point (<plc id>/<point name>), one of them"),
        ("point: press1/parts}", "point: press1/parts, unit: kg}", 16, "sparkplug.nodes[0].metrics[1]",
         "unit is the unit of a bin's weight: a point has its own type"),
        ("node: line1", "node: line/1", 13, "sparkplug.nodes[0].node", "String should match pattern"),
    ],
)
def test_a_metric_map_is_checked_on_its_own(tmp_path: Path, old: str, new: str, line: int, path: str,
                                            reason: str) -> None:
    [(where, found)] = load(tmp_path, PLANT.replace(old, new)).items()
    assert where == (line, path)
    assert found.startswith(reason)


def test_the_documented_example_is_a_valid_plant(tmp_path: Path) -> None:
    example = DOCS.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "plant.yaml"
    path.write_text("site: plant-7\nsuppliers: [{id: acme, name: ACME, lead_time_h: 24}]\n" + example, encoding="utf-8")
    [node] = load_config(path, env={}).sparkplug.nodes
    assert [m.point or m.bin for m in node.metrics] == [
        "L1-S1-M8X20", "press1/parts_loaded", "press1/good_parts", "press1/call_button"]


def test_check_config_prints_each_bad_reference_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(PLANT.replace("bin: B1,", "bin: B9,"), encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert f"{path}:15: sparkplug.nodes[0].metrics[0].bin: unknown bin 'B9' (not in bins)" in out + err
