"""ScaleBin: the rule that turns a scale's weight readings into kanban pull signals."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rules.cards import Card
from rules.events import Event, SensorRecovered, SensorStale, SignalChanged, SignalReleased
from rules.scale_bin import BinSpec, BinState, Reading, ScaleBin, Verdict

UNIT_G = 10.0
TARE_G = 500.0

# 1 card of 100 pieces, reorder at 30, re-arm above 60, no debounce unless a test asks for it.
SPEC = BinSpec(
    bin_id="B1",
    unit_weight_g=UNIT_G,
    tare_g=TARE_G,
    container_qty=100,
    cards=1,
    reorder_point=30,
    reset_point=60,
    capacity_pieces=200,
    debounce_s=0.0,
    debounce_readings=1,
    stale_after_s=300.0,
    zero_tolerance_g=50.0,
    overload_tolerance=0.2,
)

T0 = 1_700_000_000.0


def grams(pieces: float) -> float:
    """Gross weight on the scale for a number of pieces."""
    return TARE_G + pieces * UNIT_G


def make_bin(state: BinState | None = None, **spec_changes: object) -> ScaleBin:
    return ScaleBin(replace(SPEC, **spec_changes), state, started_at=T0)


class Feeder:
    """Feeds readings one second apart, with `now` equal to the measurement time."""

    def __init__(self, scale_bin: ScaleBin, t: float = T0) -> None:
        self.bin = scale_bin
        self.t = t
        self.events: list[Event] = []

    def feed(self, pieces: float, *, stable: bool = True, dt: float = 1.0) -> tuple[Verdict, tuple[Event, ...]]:
        self.t += dt
        verdict, events = self.bin.on_reading(Reading(grams(pieces), self.t, stable), self.t)
        self.events.extend(events)
        return verdict, events

    def released(self) -> list[SignalReleased]:
        return [e for e in self.events if isinstance(e, SignalReleased)]

    def received(self) -> list[SignalChanged]:
        return [e for e in self.events if isinstance(e, SignalChanged) and e.kind == "signal_received"]


# --- level from weight -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight_g", "pieces"),
    [
        (500.0, 0),  # empty bin: tare only
        (510.0, 1),
        (514.9, 1),  # rounds to the nearest piece
        (515.1, 2),
        (1234.0, 73),  # (1234 - 500) / 10 = 73.4
        (2500.0, 200),
        (480.0, 0),  # a little under tare (within zero tolerance) is empty, never negative
    ],
)
def test_pieces_is_rounded_net_weight_over_unit_weight(weight_g: float, pieces: int) -> None:
    assert make_bin().pieces_for(weight_g) == pieces


def test_applied_reading_updates_level() -> None:
    b = make_bin()
    verdict, events = b.on_reading(Reading(grams(150), T0 + 1), T0 + 1)
    assert verdict is Verdict.APPLIED
    assert events == ()
    assert b.state.pieces == 150
    assert b.state.weight_g == grams(150)
    assert b.state.last_ts == T0 + 1
    assert b.level_pct == 75.0


def test_level_pct_unknown_before_first_reading() -> None:
    assert make_bin().level_pct is None


# --- release -----------------------------------------------------------------------------------------


def test_release_one_signal_when_level_reaches_reorder_point() -> None:
    f = Feeder(make_bin())
    f.feed(100)
    f.feed(31)
    assert f.released() == []
    _, events = f.feed(30)  # at the reorder point, not only below it
    assert events == (SignalReleased("B1", "B1-1", 1, f.t, 30, "scale"),)
    assert f.bin.state.depth == 1
    assert f.bin.state.open_cards == (Card(1, "B1-1", "released", f.t),)
    assert f.bin.open_cards == 1


def test_no_second_signal_while_tripped() -> None:
    f = Feeder(make_bin())
    f.feed(100)
    f.feed(20)
    for pieces in (10, 0, 5, 30, 45, 60, 0):  # stays at or below reset point
        f.feed(pieces)
    assert len(f.released()) == 1
    assert f.received() == []


def test_debounce_needs_both_readings_and_seconds() -> None:
    b = make_bin(debounce_readings=3, debounce_s=5.0)
    f = Feeder(b)
    f.feed(100)
    # Three readings below, but only 2 s apart from the first: not yet.
    f.feed(20, dt=1.0)  # t+1: run starts
    f.feed(20, dt=1.0)  # t+2
    f.feed(20, dt=1.0)  # t+3: 3 readings, 2 s
    assert f.released() == []
    f.feed(20, dt=2.0)  # t+5: 4 s
    assert f.released() == []
    _, events = f.feed(20, dt=1.0)  # t+6: 5 s since the run started
    assert [type(e) for e in events] == [SignalReleased]
    assert len(f.released()) == 1


def test_debounce_seconds_alone_is_not_enough() -> None:
    b = make_bin(debounce_readings=3, debounce_s=5.0)
    f = Feeder(b)
    f.feed(100)
    f.feed(20)
    f.feed(20, dt=60.0)  # a long time, but only 2 readings
    assert f.released() == []
    f.feed(20)
    assert len(f.released()) == 1


def test_debounce_run_is_reset_by_a_reading_back_above() -> None:
    f = Feeder(make_bin(debounce_readings=3))
    f.feed(100)
    f.feed(20)
    f.feed(20)
    f.feed(31)  # a bounce above the reorder point breaks the run
    f.feed(20)
    f.feed(20)
    assert f.released() == []
    f.feed(20)
    assert len(f.released()) == 1


def test_unstable_readings_never_trigger() -> None:
    f = Feeder(make_bin(debounce_readings=2))
    f.feed(100)
    for _ in range(20):
        verdict, events = f.feed(0, stable=False)
        assert verdict is Verdict.APPLIED  # the level is shown ...
        assert events == ()  # ... but nothing is released
    assert f.bin.state.pieces == 0
    assert f.released() == []


def test_unstable_readings_do_not_count_toward_debounce() -> None:
    f = Feeder(make_bin(debounce_readings=2))
    f.feed(100)
    f.feed(20)  # stable: 1 of 2
    f.feed(20, stable=False)
    f.feed(20, stable=False)
    assert f.released() == []
    f.feed(20)  # stable: 2 of 2
    assert len(f.released()) == 1


# --- re-arm --------------------------------------------------------------------------------------------


def test_rearm_only_above_reset_point_without_closing_the_card() -> None:
    f = Feeder(make_bin())
    f.feed(100)
    f.feed(10)
    f.feed(60)  # at the reset point: not above it
    assert f.bin.state.depth == 1
    _, events = f.feed(61)  # re-armed, but 51 pieces more is not a container
    assert events == ()
    assert f.bin.state.depth == 0
    assert f.bin.open_cards == 1
    f.feed(30)  # the card is still out: no second signal
    assert len(f.released()) == 1


def test_a_rise_of_about_one_container_receives_the_card_as_refill() -> None:
    f = Feeder(make_bin())
    f.feed(100)
    f.feed(10)
    f.feed(84)  # +74: below 75 % of a container
    assert f.received() == []
    _, events = f.feed(85)  # +75: within the 25 % tolerance of one container
    assert events == (SignalChanged("B1", "B1-1", 1, f.t, "signal_received", "scale", pieces=85, reason="refill"),)
    assert f.bin.state.open_cards == ()
    assert f.bin.state.depth == 0
    assert f.bin.state.low_water == 85


def test_rearm_is_debounced_too() -> None:
    f = Feeder(make_bin(debounce_readings=3, debounce_s=2.0))
    f.feed(100)
    for _ in range(3):
        f.feed(10)
    assert len(f.released()) == 1
    f.feed(150)
    f.feed(150)
    f.feed(60)  # falls back: run broken
    f.feed(150)
    f.feed(150)
    assert f.received() == []
    f.feed(150)
    assert len(f.received()) == 1


def test_signal_ids_increment_per_bin() -> None:
    f = Feeder(make_bin())
    for _ in range(3):
        f.feed(150)
        f.feed(10)
    assert [e.signal_id for e in f.released()] == ["B1-1", "B1-2", "B1-3"]
    assert [e.signal_id for e in f.received()] == ["B1-1", "B1-2"]
    assert f.bin.state.signals_released == 3


def test_restored_tripped_bin_does_not_release_again() -> None:
    """After a restart the durable state says a signal is open: a low bin must not release a duplicate."""
    state = BinState(depth=1, open_cards=(Card(1, "B1-4", "released", T0),), signals_released=4)
    f = Feeder(make_bin(state))
    for _ in range(10):
        f.feed(5)
    assert f.released() == []
    f.feed(150)
    refill = SignalChanged("B1", "B1-4", 1, f.t, "signal_received", "scale", pieces=150, reason="refill")
    assert f.received() == [refill]
    f.feed(5)
    assert [e.signal_id for e in f.released()] == ["B1-5"]


def test_first_reading_at_or_below_reorder_point_releases() -> None:
    f = Feeder(make_bin())
    _, events = f.feed(0)
    assert [type(e) for e in events] == [SignalReleased]


# --- verdicts ------------------------------------------------------------------------------------------


def test_negative_weight_below_tare_minus_zero_tolerance() -> None:
    b = make_bin()
    assert b.check(Reading(TARE_G - 50.0, T0), T0) is Verdict.APPLIED
    verdict, events = b.on_reading(Reading(TARE_G - 50.1, T0), T0)
    assert verdict is Verdict.NEGATIVE_WEIGHT
    assert events == ()
    assert b.state.pieces is None  # not applied


def test_over_capacity_above_full_plus_overload_tolerance() -> None:
    b = make_bin()
    max_g = TARE_G + 200 * UNIT_G * 1.2
    assert b.spec.max_gross_g == pytest.approx(max_g)
    assert b.check(Reading(max_g, T0), T0) is Verdict.APPLIED
    verdict, _ = b.on_reading(Reading(max_g + 1.0, T0), T0)
    assert verdict is Verdict.OVER_CAPACITY
    assert b.state.pieces is None


def test_too_old_reading_is_rejected() -> None:
    b = make_bin()
    now = T0 + 1000
    assert b.check(Reading(grams(10), now - 300.0), now) is Verdict.APPLIED
    verdict, events = b.on_reading(Reading(grams(10), now - 300.1), now)
    assert verdict is Verdict.TOO_OLD
    assert events == ()
    assert b.state.depth == 0


def test_out_of_order_reading_is_rejected_and_cannot_trip() -> None:
    b = make_bin()
    b.on_reading(Reading(grams(100), T0 + 10), T0 + 10)
    verdict, events = b.on_reading(Reading(grams(0), T0 + 9), T0 + 11)
    assert verdict is Verdict.OUT_OF_ORDER
    assert events == ()
    assert b.state.pieces == 100
    assert b.state.last_ts == T0 + 10
    # the same timestamp is not out of order
    assert b.check(Reading(grams(50), T0 + 10), T0 + 11) is Verdict.APPLIED


def test_rejected_readings_do_not_count_toward_debounce() -> None:
    f = Feeder(make_bin(debounce_readings=2))
    f.feed(100)
    f.feed(10)
    f.bin.on_reading(Reading(grams(10), f.t - 5), f.t)  # out of order
    f.bin.on_reading(Reading(-1000.0, f.t), f.t)  # negative
    assert f.bin.state.depth == 0
    assert f.bin.state.pending_count == 1


# --- staleness ---------------------------------------------------------------------------------------


def test_stale_counted_from_start_when_no_reading_ever() -> None:
    b = make_bin()
    assert b.tick(T0 + 300.0) is None
    event = b.tick(T0 + 300.5)
    assert event == SensorStale("B1", T0 + 300.5, None)
    assert b.tick(T0 + 1000.0) is None  # raised once only
    assert b.state.stale is True


def test_stale_after_silence_then_recovered_on_next_reading() -> None:
    b = make_bin()
    b.on_reading(Reading(grams(100), T0 + 10), T0 + 10)
    assert b.tick(T0 + 310.0) is None
    assert b.tick(T0 + 311.0) == SensorStale("B1", T0 + 311.0, T0 + 10)
    assert b.tick(T0 + 312.0) is None
    verdict, events = b.on_reading(Reading(grams(100), T0 + 400), T0 + 400)
    assert verdict is Verdict.APPLIED
    assert events == (SensorRecovered("B1", T0 + 400),)
    assert b.state.stale is False
    # Silence again: alarmed again.
    assert b.tick(T0 + 701.0) == SensorStale("B1", T0 + 701.0, T0 + 400)


def test_recovery_and_release_in_one_reading() -> None:
    b = make_bin()
    assert b.tick(T0 + 301.0) is not None
    _, events = b.on_reading(Reading(grams(5), T0 + 302), T0 + 302)
    assert [type(e) for e in events] == [SensorRecovered, SignalReleased]


def test_unstable_reading_also_recovers_a_stale_sensor() -> None:
    b = make_bin()
    b.tick(T0 + 301.0)
    _, events = b.on_reading(Reading(grams(5), T0 + 302, stable=False), T0 + 302)
    assert events == (SensorRecovered("B1", T0 + 302),)


def test_staleness_resets_debounce_progress() -> None:
    b = make_bin(debounce_readings=2)
    b.on_reading(Reading(grams(100), T0 + 1), T0 + 1)
    b.on_reading(Reading(grams(10), T0 + 2), T0 + 2)  # 1 of 2
    assert b.tick(T0 + 303.0) is not None
    _, events = b.on_reading(Reading(grams(10), T0 + 304), T0 + 304)
    assert events == (SensorRecovered("B1", T0 + 304),)  # the old run does not complete
    _, events = b.on_reading(Reading(grams(10), T0 + 305), T0 + 305)
    assert [type(e) for e in events] == [SignalReleased]


def test_staleness_uses_arrival_time_not_measurement_time() -> None:
    b = make_bin()
    # measured 200 s ago, arrived now: the sensor is alive
    b.on_reading(Reading(grams(100), T0 + 800), T0 + 1000)
    assert b.tick(T0 + 1250.0) is None
    assert b.tick(T0 + 1301.0) is not None
