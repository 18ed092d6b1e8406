"""Plant-file sections for PLCs, points and stations: errors name file, line, field and reason."""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.floor import Point, PointDomain, PointType, Table, counter_specs, station_specs
from config.load import ConfigError, ConfigIssue, load_config
from rules.counters import CounterSpec, width_max

# Line numbers are part of the contract.
GOOD = """\
site: t
plcs:
  - id: press1
    host: 10.0.0.21
    points:
      - name: parts_in
        address: 0
        type: uint32
        order: CDAB
        counter: {}
      - name: good_parts
        table: input
        address: 2
        type: uint32
        counter: {max_value: 999999999}
      - name: temperature
        address: 10
        type: float32
        scale: 0.1
stations:
  - id: S1
    line: L1
    in_counters: [press1/parts_in]
    out_counters: [press1/good_parts]
    wip_warning: 80
    wip_limit: 100
    hysteresis: 5
"""


def issues_of(tmp_path: Path, text: str) -> list[ConfigIssue]:
    path = tmp_path / "plant.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.issues


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = new + "\n"
    return "".join(lines)


def test_good_file_gives_counters_and_stations(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert counter_specs(config.plcs) == [
        CounterSpec("press1/parts_in", max_value=4_294_967_295, max_step=10_000),
        CounterSpec("press1/good_parts", max_value=999_999_999, max_step=10_000),
    ]
    [station] = station_specs(config.stations)
    assert (station.inputs, station.outputs, station.wip_limit) == (("press1/parts_in",), ("press1/good_parts",), 100)
    assert config.plcs[0].offline_after == 90.0


@pytest.mark.parametrize(
    ("line", "new", "path", "reason"),
    [
        (8, "        type: float32", "plcs[0].points[0]", "a counter must have an integer type"),
        (9, "        order: XYZW", "plcs[0].points[0].order", "Input should be 'ABCD'"),
        (7, "        address: 65535", "plcs[0].points[0]", "runs past the last register 65535"),
        (7, "        address: -1", "plcs[0].points[0].address", "greater than or equal to 0"),
        (12, "        table: coil", "plcs[0].points[1]", "a coil point must have type bool"),
        (15, "        counter: {max_value: 5000000000}", "plcs[0].points[1]", "does not fit in uint32"),
        (16, "      - name: parts_in", "plcs[0].points[2].name", "duplicate point name 'parts_in'"),
        (16, "      - name: status", "plcs[0].points[2]", "reserved"),
        (23, "    in_counters: [press1/temperature]", "stations[0].in_counters[0]", "not a counter point"),
        (24, "    out_counters: [press1/parts_in]", "stations[0]", "cannot count both in and out"),
        (25, "    wip_warning: 100", "stations[0]", "wip_warning must be below wip_limit"),
        (27, "    hysteris: 5", "stations[0].hysteris", "unknown field"),
    ],
)
def test_errors_are_located(tmp_path: Path, line: int, new: str, path: str, reason: str) -> None:
    [issue] = issues_of(tmp_path, replace_line(GOOD, line, new))
    assert issue.path == path
    assert reason in issue.reason
    assert issue.file.endswith("plant.yaml")
    assert issue.line >= 3  # inside the entry, never the top of the file


def test_field_errors_point_at_their_line(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, replace_line(GOOD, 9, "        order: XYZW"))
    assert issue.line == 9
    [issue] = issues_of(tmp_path, replace_line(GOOD, 23, "    in_counters: [press1/nothing]"))
    assert issue.line == 23


def test_host_and_serial_together_is_an_error(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, replace_line(GOOD, 4, "    host: 10.0.0.21\n    serial: {port: /dev/ttyUSB0}"))
    assert (issue.path, issue.line) == ("plcs[0]", 3)
    assert "only one of them" in issue.reason


def test_example_plant_chains_its_stations() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "example-plant.yaml", env={})
    s1, s2 = station_specs(config.stations)
    assert s1.outputs == s2.inputs == ("L1-press/good_parts",)
    assert {c.counter_id: c.max_value for c in counter_specs(config.plcs)}["L1-press/good_parts"] == 999_999_999


def test_material_call_names_a_configured_point(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, replace_line(GOOD, 27, "    hysteresis: 5\n    material_call: press1/nothing"))
    assert (issue.path, issue.line) == ("stations[0].material_call", 28)
    assert "not a configured point" in issue.reason
    path = tmp_path / "ok.yaml"
    path.write_text(replace_line(GOOD, 27, "    hysteresis: 5\n    material_call: press1/temperature"))
    assert load_config(path).stations[0].material_call == "press1/temperature"


SCALES = """\
site: t
items:
  - {sku: BOLT, unit_weight_g: 10}
bins:
  - {id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30}
scales:
  - {bin: B1, host: 10.0.0.50, port: 4305}
  - {bin: B9, serial: {port: /dev/ttyUSB0, baudrate: 9600, parity: N}}
  - {bin: B1, serial: {port: /dev/ttyUSB1}}
  - {bin: B1, host: 10.0.0.51}
"""


def test_scale_devices_are_checked(tmp_path: Path) -> None:
    issues = {(i.line, i.path): i.reason for i in issues_of(tmp_path, SCALES)}
    assert issues == {
        (8, "scales[1].bin"): "unknown bin 'B9'",
        (9, "scales[2].bin"): "bin 'B1' already has a scale device",
        (10, "scales[3]"): "a TCP scale needs its port",
    }


def test_stack_lights_are_checked(tmp_path: Path) -> None:
    lights = (
        "    lights:\n"
        "      - {station: L1/S1, coils: {red: 10, green: 11}}\n"
        "      - {station: L9/S1, holding_register: 50}\n"
        "      - {station: L1/S1, holding_register: 51}\n"
    )
    text = GOOD.replace("stations:\n", lights + "stations:\n")
    issues = {(i.line, i.path): i.reason for i in issues_of(tmp_path, text)}
    assert issues == {
        (22, "plcs[0].lights[1].station"): "no station L9/S1 (line/station)",
        (23, "plcs[0].lights[2].station"): "L1/S1 already has a stack light",
    }
    [issue] = issues_of(tmp_path, GOOD.replace("stations:\n", "    lights:\n      - {station: L1/S1}\nstations:\n"))
    assert (issue.path, issue.line) == ("plcs[0].lights[0]", 21)
    assert issue.reason == (
        "give coils or holding_register (Modbus), or lamp_nodes or node (OPC UA), exactly one of them"
    )


BACKFLUSH = """\
site: t
items:
  - {sku: BOLT, unit_weight_g: 10}
bins:
  - {id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30}
  - {id: B2, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, receive_by_scale: false}
stations:
  - id: S1
    line: L1
    consumes:
      - {bin: B1, per_unit: 2}
      - {bin: B9, per_unit: 1}
      - {bin: B2, per_unit: 0.5}
"""


def test_backflushed_bins_exist_and_do_not_receive_by_scale(tmp_path: Path) -> None:
    issues = {(i.line, i.path): i.reason for i in issues_of(tmp_path, BACKFLUSH)}
    assert issues == {
        (11, "stations[0].consumes[0].bin"): "bin 'B1' is backflushed: set its receive_by_scale: false",
        (12, "stations[0].consumes[1].bin"): "unknown bin 'B9'",
    }


def point(type_: PointType, scale: float = 1.0, offset: float = 0.0) -> Point:
    table: Table = "coil" if type_ == "bool" else "holding"
    return Point(name="p", table=table, address=0, type=type_, scale=scale, offset=offset)


@pytest.mark.parametrize(
    ("type_", "low", "high", "whole"),
    [
        ("uint16", 0, 65535, True),
        ("int16", -32768, 32767, True),
        ("uint32", 0, 2**32 - 1, True),
        ("int32", -(2**31), 2**31 - 1, True),
        ("uint64", 0, 2**64 - 1, True),
        ("float32", -struct.unpack(">f", bytes.fromhex("7f7fffff"))[0],
         struct.unpack(">f", bytes.fromhex("7f7fffff"))[0], False),
        ("float64", -sys.float_info.max, sys.float_info.max, False),
    ],
)
def test_an_unscaled_point_carries_what_its_type_holds(type_: PointType, low: float, high: float, whole: bool) -> None:
    assert point(type_).domain() == PointDomain(low, high, whole=whole, flag=False)


def test_a_bool_point_carries_true_false_0_and_1_whatever_its_scale() -> None:
    assert point("bool").domain() == PointDomain(0, 1, whole=True, flag=True)
    assert point("bool", scale=10, offset=-3).domain() == PointDomain(0, 1, whole=True, flag=True)


def test_a_scaled_point_carries_its_raw_range_scaled() -> None:
    tenths = point("int16", scale=0.1).domain()
    assert (tenths.low, tenths.high) == pytest.approx((-3276.8, 3276.7))
    assert not tenths.whole  # 21.5 is a tenth-degree reading
    assert point("uint16", offset=-100).domain() == PointDomain(-100.0, 65435.0, whole=False, flag=False)
    floats = point("float32", scale=0.5, offset=1).domain()
    assert (floats.low, floats.high) == pytest.approx((-1.7014117e38, 1.7014117e38))
    assert point("float64", scale=10).domain() == PointDomain(-math.inf, math.inf, whole=False, flag=False)


def test_a_negative_scale_swaps_the_ends() -> None:
    # raw -32768 gives the highest value, raw 32767 the lowest.
    flipped = point("int16", scale=-0.5, offset=100).domain()
    assert (flipped.low, flipped.high) == (32767 * -0.5 + 100, -32768 * -0.5 + 100)
    assert (flipped.low, flipped.high) == (-16283.5, 16484.0)
    unsigned = point("uint32", scale=-1, offset=0).domain()
    assert (unsigned.low, unsigned.high) == (-(2**32 - 1), 0)


FACTORS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def raw_values(type_: PointType) -> st.SearchStrategy[int | float]:
    """Every raw value a register of this type holds, its ends more often."""
    if type_.startswith("float"):
        return st.floats(width=32 if type_ == "float32" else 64, allow_nan=False, allow_infinity=False)
    top = width_max(type_)
    bottom = 0 if type_.startswith("u") else -top - 1
    return st.one_of(st.sampled_from([bottom, top]), st.integers(bottom, top))


@given(st.sampled_from(["uint16", "int16", "uint32", "int32", "uint64", "float32", "float64"]), st.data(),
       FACTORS, FACTORS)
def test_every_value_the_poller_publishes_is_inside_its_points_domain(
    type_: PointType, data: st.DataObject, scale: float, offset: float
) -> None:
    """The poller publishes `raw × scale + offset` (the raw value itself when unscaled): all of it is inside."""
    raw = data.draw(raw_values(type_))
    for configured in (point(type_), point(type_, scale, offset)):
        domain = configured.domain()
        unscaled = (configured.scale, configured.offset) == (1.0, 0.0)
        value = raw if unscaled else raw * configured.scale + configured.offset
        assert domain.low <= value <= domain.high
