"""PLC point values at the gateway's door: each point takes only what its type, scale and offset can give."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.plant import PlantConfig
from gateway.floor.shop_floor import ShopFloor
from gateway.ingest.errors import PayloadError
from gateway.state.committer import Committer
from gateway.state.floor import FloorReads
from rules.floor import FloorChange

PLANT: dict[str, Any] = {
    "site": "t",
    "plcs": [{
        "id": "plc1",
        "points": [
            {"name": "call", "table": "coil", "address": 0, "type": "bool"},
            {"name": "parts", "address": 0, "type": "uint16", "counter": {"max_value": 999}},
            {"name": "temp", "address": 1, "type": "int16", "scale": 0.1},
            {"name": "flipped", "address": 2, "type": "int16", "scale": -2, "offset": 5},
            {"name": "level", "address": 3, "type": "int32"},
            {"name": "big", "address": 5, "type": "uint64"},
            {"name": "pressure", "address": 9, "type": "float32", "scale": 0.5, "offset": 1},
            {"name": "energy", "address": 11, "type": "float64"},
        ],
    }],
    "stations": [{"id": "S1", "line": "L1", "in_counters": ["plc1/parts"], "material_call": "plc1/call"}],
}

DOCUMENTED = {  # the README's rejection reasons
    "invalid_json", "invalid_payload", "not_finite", "payload_too_large", "future_timestamp", "negative_weight",
    "over_capacity", "too_old", "out_of_order", "unknown_bin", "out_of_range", "unknown_point",
    "unknown_rfid_format", "unknown_reader",
}

FLOAT32_MAX = 3.4028234663852886e38


def number(value: object) -> bool:
    """A JSON number (not true/false), finite."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def whole(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


ACCEPTS: dict[str, Callable[[Any], bool]] = {  # written out per point, independently of PointDomain
    "call": lambda v: isinstance(v, int | float) and v in (0, 1),
    "parts": lambda v: number(v) and whole(v) and 0 <= v <= 999,
    "temp": lambda v: number(v) and -3276.8 <= v <= 3276.7000000000003,
    "flipped": lambda v: number(v) and 32767 * -2 + 5 <= v <= -32768 * -2 + 5,
    "level": lambda v: number(v) and whole(v) and -(2**31) <= v <= 2**31 - 1,
    "big": lambda v: number(v) and whole(v) and 0 <= v <= 2**64 - 1,
    "pressure": lambda v: number(v) and abs(v - 1) <= FLOAT32_MAX * 0.5,
    "energy": lambda v: number(v) and abs(v) <= sys.float_info.max,
}


class Staged:
    """Stands in for the committer: keeps what the floor stages."""

    def __init__(self) -> None:
        self.changes: list[FloorChange] = []

    def stage_floor(self, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
        self.changes.append(change)


def shop_floor(staged: Staged, now: float = 1000.0) -> ShopFloor:
    return ShopFloor(
        config=PlantConfig.model_validate(PLANT), reads=FloorReads(lambda sql, args: []),
        committer=cast("Committer", staged), started_at=now,
    )


def send(floor: ShopFloor, point: str, value: object, now: float = 1000.0) -> bool:
    return floor.handle_point(f"plc1/{point}", json.dumps({"value": value}).encode(), now)


def rejected(floor: ShopFloor, point: str, value: object) -> str:
    with pytest.raises(PayloadError) as caught:
        send(floor, point, value)
    return caught.value.reason


@pytest.mark.parametrize("value", [1e300, -1e300, -1, 2, 1500.0])
def test_a_bool_point_refuses_numbers_beyond_0_and_1_and_its_call_stays_off(value: float) -> None:
    staged = Staged()
    floor = shop_floor(staged)
    assert rejected(floor, "call", value) == "out_of_range"
    assert floor.material_calls == {}
    assert floor.calls_seen == set()


def test_a_bool_point_takes_true_false_0_and_1() -> None:
    floor = shop_floor(Staged())
    for value, on in [(True, True), (False, False), (1, True), (0, False), (1.0, True), (0.0, False)]:
        send(floor, "call", value)
        assert floor.material_calls == {"S1": on}
    assert rejected(floor, "call", 0.5) == "invalid_payload"  # neither 0 nor 1
    assert floor.material_calls == {"S1": False}


@pytest.mark.parametrize(
    ("point", "value", "reason"),
    [
        ("temp", 1e300, "out_of_range"),
        ("temp", -1e300, "out_of_range"),
        ("temp", 3276.8, "out_of_range"),
        ("temp", True, "invalid_payload"),  # a number point takes no true/false
        ("flipped", -65530, "out_of_range"),  # below 32767 × −2 + 5 = −65529
        ("flipped", 65542, "out_of_range"),  # above −32768 × −2 + 5 = 65541
        ("level", 2**31, "out_of_range"),
        ("level", 1.5, "invalid_payload"),  # unscaled integer: whole numbers only
        ("big", 2**64, "out_of_range"),
        ("big", -1, "out_of_range"),
        pytest.param("big", 10**400, "out_of_range", id="big-10**400"),
        ("pressure", 1.8e38, "out_of_range"),
        ("parts", 1000, "out_of_range"),  # the counter's own maximum
        ("parts", 70000, "out_of_range"),  # beyond uint16
        ("parts", 12.5, "invalid_payload"),
    ],
)
def test_values_outside_their_points_domain_are_rejected(point: str, value: object, reason: str) -> None:
    staged = Staged()
    floor = shop_floor(staged)
    assert rejected(floor, point, value) == reason
    assert staged.changes == []


@pytest.mark.parametrize(
    ("point", "value"),
    [
        ("temp", 21.5), ("temp", -3276.8), ("temp", 3276.7000000000003), ("flipped", -65529), ("flipped", 65541),
        ("flipped", 0.25), ("level", -(2**31)), ("level", 7.0), ("big", 2**64 - 1), ("pressure", -1.7e38),
        ("energy", 1e308), ("parts", 999),
    ],
)
def test_values_inside_their_points_domain_are_accepted(point: str, value: object) -> None:
    send(shop_floor(Staged()), point, value)


def test_a_rejected_value_changes_nothing_not_even_the_plcs_liveness() -> None:
    staged = Staged()
    floor = shop_floor(staged)
    floor.handle_status("plc1", b'{"online": false, "error": "connection refused"}', 1000.0)
    assert floor.rules.alarms.is_open("plc1", "plc_offline")
    staged.changes.clear()
    for point, value in [("call", 7), ("parts", 5000), ("temp", 1e300)]:
        assert rejected(floor, point, value) == "out_of_range"
    assert staged.changes == []
    assert floor.material_calls == {}


def test_a_rejected_counter_value_does_not_lose_the_clearing_of_a_silent_plc() -> None:
    staged = Staged()
    floor = shop_floor(staged, now=0.0)
    floor.tick(200.0)  # nothing heard for three heartbeats (90 s): offline
    assert floor.rules.alarms.is_open("plc1", "plc_offline")
    assert rejected(floor, "parts", 1000) == "out_of_range"  # refused by the counter rules, after the domain
    assert floor.rules.alarms.is_open("plc1", "plc_offline")  # still open, as in the database
    assert send(floor, "parts", 10, now=201.0)
    assert [e.kind for e in staged.changes[-1].events] == ["alarm_cleared"]


JSON = st.recursive(
    st.none() | st.booleans() | st.text(max_size=5)
    | st.integers() | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats() | st.sampled_from([0, 1, -1, 0.0, 1.0, -0.0, 0.5, 2**64, 2**64 - 1, 3276.7, 1e300, -1e300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(ACCEPTS)), JSON), min_size=1, max_size=12))
def test_any_json_value_is_accepted_inside_its_points_domain_or_rejected_with_a_documented_reason(
    sent: list[tuple[str, object]],
) -> None:
    staged = Staged()
    floor = shop_floor(staged)
    last_count: object = None
    for i, (point, value) in enumerate(sent):
        now = 1000.0 + i
        before = len(staged.changes)
        reason = None
        try:
            caused = send(floor, point, value, now)
        except PayloadError as exc:
            reason = exc.reason
        if reason is not None:
            assert reason in DOCUMENTED
            assert not ACCEPTS[point](value), (point, value, reason)
            assert len(staged.changes) == before  # a rejected value stages nothing
            continue
        assert ACCEPTS[point](value), (point, value)
        if point == "call":
            assert floor.material_calls["S1"] is (value is True or value == 1)
        if point == "parts":
            assert caused is (value != last_count)  # a new count is staged; a repeated one is nothing new
            last_count = value
