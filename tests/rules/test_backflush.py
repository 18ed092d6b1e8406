"""Backflush: production consumes pieces, fractions carry over, estimates stay within the bin."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.backflush import Backflush, Consumption, estimate


def test_units_consume_pieces_from_every_bin_of_the_station() -> None:
    flush = Backflush([Consumption("S1", "BOLTS", 4), Consumption("S1", "NUTS", 1), Consumption("S2", "CLIPS", 2)])
    assert flush.bins == {"BOLTS", "NUTS", "CLIPS"}
    assert flush.consume("S1", 3) == {"BOLTS": 12, "NUTS": 3}
    assert flush.consume("S2", 1) == {"CLIPS": 2}
    assert flush.consume("S9", 5) == {}


def test_fractions_carry_over() -> None:
    flush = Backflush([Consumption("S1", "GLUE", 0.5)])
    assert [flush.consume("S1", 1) for _ in range(4)] == [{}, {"GLUE": 1}, {}, {"GLUE": 1}]
    flush = Backflush([Consumption("S1", "SHIM", 0.1)])
    assert sum(flush.consume("S1", 1).get("SHIM", 0) for _ in range(30)) == 3


@given(st.floats(0.01, 10), st.lists(st.integers(0, 50), max_size=40))
def test_total_taken_is_the_whole_part_of_what_was_used(per_unit: float, batches: list[int]) -> None:
    flush = Backflush([Consumption("S1", "B", per_unit)])
    taken = sum(flush.consume("S1", n).get("B", 0) for n in batches)
    used = sum(batches) * per_unit
    assert used - 1 < taken <= used + 1e-6


def test_estimate() -> None:
    assert estimate(None, 200) == 200  # unknown: starts full
    assert estimate(50, 200, taken=80) == 0
    assert estimate(150, 200, received=100) == 200
    assert estimate(40, 200, taken=10, received=100) == 130
