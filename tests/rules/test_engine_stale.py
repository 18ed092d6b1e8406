"""The engine's stale check looks only at bins that are due, and raises exactly what checking every bin would."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.engine import Engine
from rules.events import Event
from rules.scale_bin import BinSpec, Reading

T0 = 1_700_000_000.0
STALE_AFTER = (5.0, 30.0, 60.0)  # bins B0, B1, B2 go stale after these many seconds of silence


def specs() -> list[BinSpec]:
    return [
        BinSpec(bin_id=f"B{i}", unit_weight_g=10, tare_g=0, container_qty=100, cards=1, reorder_point=30,
                reset_point=60, capacity_pieces=200, stale_after_s=after)
        for i, after in enumerate(STALE_AFTER)
    ]


def every_bin_ticked(engine: Engine, now: float) -> list[Event]:
    """What the engine must raise: every bin's own stale check."""
    return [event for b in engine if (event := b.tick(now)) is not None]


steps = st.lists(
    st.tuples(
        st.floats(min_value=0.0, max_value=40.0),  # seconds until this step
        st.one_of(st.none(), st.integers(min_value=0, max_value=len(STALE_AFTER) - 1)),  # None: a tick
    ),
    max_size=60,
)


@given(steps=steps)
@settings(max_examples=300, derandomize=True, deadline=None, database=None)
def test_stale_alarms_match_a_check_of_every_bin(steps: list[tuple[float, int | None]]) -> None:
    engine = Engine(specs=specs(), started_at=T0)
    reference = Engine(specs=specs(), started_at=T0)
    now = T0
    for dt, bin_index in steps:
        now += dt
        if bin_index is None:
            got = sorted(e.bin_id for e in engine.tick(now))
            assert got == sorted(e.bin_id for e in every_bin_ticked(reference, now))
        else:
            reading = Reading(1000.0, now)
            bin_id = f"B{bin_index}"
            assert engine.bin(bin_id).on_reading(reading, now) == reference.bin(bin_id).on_reading(reading, now)


def test_a_bin_that_reports_is_not_raised_and_a_silent_one_is_raised_once() -> None:
    engine = Engine(specs=specs(), started_at=T0)
    for t in range(1, 101):  # B0 reports every second; B1 and B2 never
        engine.bin("B0").on_reading(Reading(1000.0, T0 + t), T0 + t)
        raised = [e.bin_id for e in engine.tick(T0 + t + 0.5)]
        assert raised == (["B1"] if t == 30 else ["B2"] if t == 60 else [])
