"""Counter deltas: rollover at the type's width or a configured maximum, resets, jumps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.counters import Change, CounterSpec, CounterState, step, width_max

U16 = CounterSpec("plc1/count", max_value=65535, max_step=1000)
NINES = CounterSpec("plc1/count", max_value=999_999_999, max_step=10_000)


def last(value: int) -> CounterState:
    return CounterState(value=value, ts=0.0)


def test_first_value_is_a_baseline() -> None:
    assert step(U16, None, 40_000) == (0, Change.FIRST)


def test_counting_up() -> None:
    assert step(U16, last(10), 17) == (7, Change.COUNTED)
    assert step(U16, last(10), 10) == (0, Change.COUNTED)


def test_rollover_at_the_type_width() -> None:
    assert step(U16, last(65530), 4) == (10, Change.ROLLOVER)
    assert step(U16, last(65535), 0) == (1, Change.ROLLOVER)


def test_rollover_at_a_configured_maximum() -> None:
    assert step(NINES, last(999_999_990), 5) == (15, Change.ROLLOVER)


def test_plc_restart_resetting_to_near_zero_counts_only_what_came_after() -> None:
    assert step(NINES, last(123_456_789), 3) == (3, Change.RESET)
    assert step(U16, last(30_000), 0) == (0, Change.RESET)


def test_reset_to_a_large_value_counts_nothing() -> None:
    assert step(U16, last(60_000), 20_000) == (0, Change.RESET)


def test_upward_jump_beyond_a_plausible_step_rebases_without_counting() -> None:
    assert step(NINES, last(5), 900_000_000) == (0, Change.JUMP)


def test_value_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        step(U16, last(1), 70_000)
    with pytest.raises(ValueError, match="outside"):
        step(U16, last(1), -1)


def test_widths() -> None:
    assert width_max("uint16") == 65535
    assert width_max("uint32") == 4_294_967_295
    assert width_max("int16") == 32767
    assert width_max("uint64") == (1 << 64) - 1


@given(
    st.integers(0, 65535),
    st.lists(st.integers(0, 65535), max_size=50),
)
def test_never_negative_never_more_than_a_plausible_step(start: int, values: list[int]) -> None:
    state = CounterState(start, 0.0)
    for value in values:
        units, _ = step(U16, state, value)
        assert 0 <= units <= U16.max_step
        state = CounterState(value, 0.0)


@given(st.integers(0, 65535), st.lists(st.integers(0, 1000), max_size=50))
def test_true_production_is_recovered_across_rollovers(start: int, increments: list[int]) -> None:
    state, total = CounterState(start, 0.0), 0
    for inc in increments:
        value = (state.value + inc) % 65536
        units, _ = step(U16, state, value)
        total += units
        state = CounterState(value, 0.0)
    assert total == sum(increments)
