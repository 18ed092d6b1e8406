"""Work in process per station: units in minus units out, from counters, corrected by a physical count."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rules.limits import MAX_COUNT

_RATE_WINDOW_S = 3600.0
_RATE_BUCKET_S = 60.0


@dataclass(frozen=True, slots=True)
class StationSpec:
    """A station: the counters that count units entering and leaving it, and its WIP levels."""

    station_id: str
    line: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    wip_warning: int | None = None
    wip_limit: int | None = None
    hysteresis: int = 0
    stalled_after_s: float | None = None


@dataclass(slots=True)
class StationState:
    """What survives a restart: WIP and the units counted in and out since the station was configured."""

    wip: int = 0
    units_in: int = 0
    units_out: int = 0
    updated_at: float | None = None


class Rate:
    """Units per hour over the trailing hour, from one-minute buckets (at most 60 kept)."""

    def __init__(self) -> None:
        self._buckets: deque[tuple[int, int]] = deque(maxlen=int(_RATE_WINDOW_S / _RATE_BUCKET_S))

    def add(self, units: int, ts: float) -> None:
        """Count units produced at `ts`."""
        minute = int(ts // _RATE_BUCKET_S)
        if self._buckets and self._buckets[-1][0] == minute:
            self._buckets[-1] = (minute, self._buckets[-1][1] + units)
        elif not self._buckets or minute > self._buckets[-1][0]:
            self._buckets.append((minute, units))
        # A unit counted late for an older minute is not added: the window moves forward only.

    def per_hour(self, now: float) -> float:
        """Units per hour counted in the hour before `now`."""
        first = int((now - _RATE_WINDOW_S) // _RATE_BUCKET_S)
        return float(sum(n for minute, n in self._buckets if minute > first))


class Station:
    """One station's WIP; counts never make it negative (the missing units were already inside)."""

    def __init__(self, spec: StationSpec, state: StationState | None = None) -> None:
        self.spec = spec
        self.state = state or StationState()
        self.rate_in = Rate()
        self.rate_out = Rate()
        self.last_out_at: float | None = None  # since start-up: a restart gives a stalled station a fresh start

    def count(self, *, entered: int, left: int, ts: float) -> int:
        """Apply units counted in and out; returns the change in WIP. Totals stop at `MAX_COUNT` rather than
        grow past what can be stored (a counter may step by up to its range when so configured)."""
        st = self.state
        st.units_in = min(MAX_COUNT, st.units_in + entered)
        st.units_out = min(MAX_COUNT, st.units_out + left)
        before = st.wip
        st.wip = min(MAX_COUNT, max(0, st.wip + entered - left))
        st.updated_at = ts
        if entered:
            self.rate_in.add(entered, ts)
        if left:
            self.rate_out.add(left, ts)
            self.last_out_at = ts if self.last_out_at is None else max(ts, self.last_out_at)
        return st.wip - before

    def set_wip(self, wip: int, ts: float) -> int:
        """A physical count: WIP is now `wip`; returns the change."""
        if not 0 <= wip <= MAX_COUNT:
            raise ValueError(f"WIP must be within 0..{MAX_COUNT}")
        before, self.state.wip, self.state.updated_at = self.state.wip, wip, ts
        return wip - before
