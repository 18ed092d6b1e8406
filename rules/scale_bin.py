"""A weight-scale bin as a kanban loop: level from weight, reorder point with hysteresis and debounce.

`ScaleBin` is a small state machine in the style of a sans-I/O protocol object: the caller feeds it
readings and the current time, and it returns the events that follow. It owns its state so that the
hot path allocates nothing when nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from rules.events import Event, SensorRecovered, SensorStale, SignalClosed, SignalReleased

NO_EVENTS: tuple[Event, ...] = ()


@dataclass(frozen=True, slots=True)
class BinSpec:
    """What the plant configured for one bin (kanban loop) with a scale."""

    bin_id: str
    unit_weight_g: float
    tare_g: float
    container_qty: int
    cards: int
    reorder_point: int
    reset_point: int
    capacity_pieces: int
    debounce_s: float = 0.0
    debounce_readings: int = 1
    stale_after_s: float = 300.0
    zero_tolerance_g: float = 50.0
    overload_tolerance: float = 0.2

    @property
    def max_gross_g(self) -> float:
        """Heaviest plausible gross weight: a full bin plus the overload tolerance."""
        return self.tare_g + self.capacity_pieces * self.unit_weight_g * (1.0 + self.overload_tolerance)


@dataclass(frozen=True, slots=True)
class Reading:
    """One weight reading. `ts` is when it was measured (device time, or arrival time if none)."""

    weight_g: float
    ts: float
    stable: bool = True


class Verdict(Enum):
    """Why a reading was not applied; `APPLIED` when it was."""

    APPLIED = "applied"
    NEGATIVE_WEIGHT = "negative_weight"
    OVER_CAPACITY = "over_capacity"
    OUT_OF_ORDER = "out_of_order"
    TOO_OLD = "too_old"


@dataclass(slots=True)
class BinState:
    """What a bin remembers. Only the fields marked durable survive a restart."""

    armed: bool = True  # durable: ready to release on the next crossing
    open_signal: str | None = None  # durable
    signals_released: int = 0  # durable: numbers the bin's signals
    stale: bool = False  # durable
    pieces: int | None = None  # snapshotted periodically
    weight_g: float | None = None  # snapshotted periodically
    last_ts: float | None = None  # snapshotted periodically: measurement time of the last reading
    last_seen: float | None = None  # arrival time of the last reading, for staleness
    pending_since: float | None = None  # debounce: first reading of the current run toward a transition
    pending_count: int = 0


class ScaleBin:
    """One scale bin's rule: releases at most one open signal, re-arms above the reset point."""

    __slots__ = ("_watch_from", "spec", "state")

    def __init__(self, spec: BinSpec, state: BinState | None = None, *, started_at: float) -> None:
        self.spec = spec
        self.state = state if state is not None else BinState()
        # A bin that never reports goes stale counting from start-up.
        self._watch_from = started_at

    def pieces_for(self, weight_g: float) -> int:
        """Whole pieces in the bin for a gross weight; never negative."""
        return max(0, round((weight_g - self.spec.tare_g) / self.spec.unit_weight_g))

    def check(self, reading: Reading, now: float) -> Verdict:
        """Whether a reading is plausible and current enough to apply, without changing state."""
        spec = self.spec
        if reading.weight_g < spec.tare_g - spec.zero_tolerance_g:
            return Verdict.NEGATIVE_WEIGHT
        if reading.weight_g > spec.max_gross_g:
            return Verdict.OVER_CAPACITY
        if reading.ts < now - spec.stale_after_s:
            return Verdict.TOO_OLD
        last = self.state.last_ts
        if last is not None and reading.ts < last:
            return Verdict.OUT_OF_ORDER
        return Verdict.APPLIED

    def on_reading(self, reading: Reading, now: float) -> tuple[Verdict, tuple[Event, ...]]:
        """Apply one reading; return whether it was applied and the events it caused."""
        verdict = self.check(reading, now)
        if verdict is not Verdict.APPLIED:
            return verdict, NO_EVENTS
        st = self.state
        pieces = self.pieces_for(reading.weight_g)
        st.pieces = pieces
        st.weight_g = reading.weight_g
        st.last_ts = reading.ts
        st.last_seen = now
        events: tuple[Event, ...] = NO_EVENTS
        if st.stale:
            st.stale = False
            events = (SensorRecovered(self.spec.bin_id, now),)
        if not reading.stable:
            return verdict, events
        transition = self._step(pieces, reading.ts)
        if transition is not None:
            events = (*events, transition)
        return verdict, events

    def _step(self, pieces: int, ts: float) -> Event | None:
        spec, st = self.spec, self.state
        toward = pieces <= spec.reorder_point if st.armed else pieces > spec.reset_point
        if not toward:
            st.pending_since, st.pending_count = None, 0
            return None
        if st.pending_since is None:
            st.pending_since = ts
        st.pending_count += 1
        if st.pending_count < spec.debounce_readings or ts - st.pending_since < spec.debounce_s:
            return None
        st.pending_since, st.pending_count = None, 0
        return self._release(pieces, ts) if st.armed else self._rearm(pieces, ts)

    def _release(self, pieces: int, ts: float) -> Event:
        st = self.state
        st.armed = False
        st.signals_released += 1
        st.open_signal = f"{self.spec.bin_id}-{st.signals_released}"
        return SignalReleased(self.spec.bin_id, st.open_signal, ts, pieces)

    def _rearm(self, pieces: int, ts: float) -> Event | None:
        st = self.state
        st.armed = True
        closed, st.open_signal = st.open_signal, None
        if closed is None:
            return None
        return SignalClosed(self.spec.bin_id, closed, ts, pieces, reason="refilled")

    def tick(self, now: float) -> Event | None:
        """Raise the sensor-stale alarm once the bin has been silent for its stale-after time."""
        st = self.state
        if st.stale:
            return None
        last = st.last_seen if st.last_seen is not None else self._watch_from
        if now - last <= self.spec.stale_after_s:
            return None
        st.stale = True
        # Old debounce progress must not complete on the first reading after the gap.
        st.pending_since, st.pending_count = None, 0
        return SensorStale(self.spec.bin_id, now, st.last_seen)

    @property
    def level_pct(self) -> float | None:
        """Fill level as a percentage of the bin's capacity."""
        pieces = self.state.pieces
        if pieces is None:
            return None
        return round(100.0 * pieces / self.spec.capacity_pieces, 1)
