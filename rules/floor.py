"""The shop floor: PLC counters feed station WIP, WIP and PLC health raise alarms."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Literal

from rules.alarms import Alarm, AlarmBook, level_condition
from rules.counters import CounterSpec, CounterState, step
from rules.events import AlarmKind, FloorEvent, WipChanged, WipReason
from rules.stations import Station, StationSpec, StationState


@dataclass(frozen=True, slots=True)
class PlcSpec:
    """A PLC is offline when it says so or nothing was heard from it for `offline_after_s`."""

    plc_id: str
    offline_after_s: float


class CounterVerdict(Enum):
    """Whether a counter value was applied."""

    APPLIED = "applied"
    OUT_OF_ORDER = "out_of_order"
    OUT_OF_RANGE = "out_of_range"


@dataclass(slots=True)
class FloorChange:
    """What one input changed: events plus the counter and station states to save with them."""

    events: list[FloorEvent] = field(default_factory=list)
    counters: dict[str, CounterState] = field(default_factory=dict)
    stations: dict[str, StationState] = field(default_factory=dict)
    produced: dict[str, int] = field(default_factory=dict)  # station → units it put out (for backflush)

    def __bool__(self) -> bool:
        return bool(self.events or self.counters or self.stations)


class UnknownSubjectError(KeyError):
    """An id names no configured station, counter or PLC."""


class Floor:
    """Counters, stations, PLC liveness and their alarms."""

    def __init__(
        self,
        *,
        plcs: Iterable[PlcSpec],
        counters: Iterable[CounterSpec],
        stations: Iterable[StationSpec],
        counter_states: dict[str, CounterState] | None = None,
        station_states: dict[str, StationState] | None = None,
        open_alarms: Iterable[Alarm] = (),
        started_at: float,
    ) -> None:
        self._plcs = {p.plc_id: p for p in plcs}
        self._counters = {c.counter_id: c for c in counters}
        self._counter_states = dict(counter_states or {})
        saved = station_states or {}
        self.stations = {s.station_id: Station(s, saved.get(s.station_id)) for s in stations}
        self._uses: dict[str, list[tuple[Station, bool]]] = {}
        for station in self.stations.values():
            for counter_id in station.spec.inputs:
                self._uses.setdefault(counter_id, []).append((station, True))
            for counter_id in station.spec.outputs:
                self._uses.setdefault(counter_id, []).append((station, False))
        self.alarms = AlarmBook(open_alarms)
        self._last_seen = dict.fromkeys(self._plcs, started_at)
        self._started_at = started_at
        self._scheduled_since: dict[str, float] = {}
        self._reported_offline: set[str] = set()

    def on_counter(self, counter_id: str, value: int, ts: float) -> tuple[CounterVerdict, FloorChange]:
        """Apply a counter's cumulative value read at `ts`."""
        spec = self._counters.get(counter_id)
        if spec is None:
            raise UnknownSubjectError(counter_id)
        last = self._counter_states.get(counter_id)
        change = FloorChange()
        if last is not None and ts < last.ts:
            return CounterVerdict.OUT_OF_ORDER, change
        try:
            units, _ = step(spec, last, value)
        except ValueError:
            return CounterVerdict.OUT_OF_RANGE, change
        if last is not None and last.value == value:
            return CounterVerdict.APPLIED, change
        self._counter_states[counter_id] = change.counters[counter_id] = CounterState(value=value, ts=ts)
        if units:
            for station, is_input in self._uses.get(counter_id, ()):
                delta = station.count(entered=units if is_input else 0, left=0 if is_input else units, ts=ts)
                self._station_changed(station, delta, "counted", ts, change)
                if not is_input:
                    sid = station.spec.station_id
                    change.produced[sid] = change.produced.get(sid, 0) + units
        return CounterVerdict.APPLIED, change

    def set_wip(self, station_id: str, wip: int, now: float) -> FloorChange:
        """A physical count of a station's WIP."""
        station = self._station(station_id)
        change = FloorChange()
        self._station_changed(station, station.set_wip(wip, now), "physical_count", now, change)
        return change

    def _station(self, station_id: str) -> Station:
        station = self.stations.get(station_id)
        if station is None:
            raise UnknownSubjectError(station_id)
        return station

    def _station_changed(
        self, station: Station, delta: int, reason: WipReason, ts: float, change: FloorChange
    ) -> None:
        sid, spec, wip = station.spec.station_id, station.spec, station.state.wip
        change.stations[sid] = replace(station.state)
        if delta:
            change.events.append(WipChanged(subject=sid, ts=ts, wip=wip, delta=delta, reason=reason))
        levels: tuple[tuple[AlarmKind, int | None], ...] = (
            ("wip_warning", spec.wip_warning), ("wip_limit", spec.wip_limit),
        )
        for kind, level in levels:
            if level is None:
                continue
            holds = level_condition(wip, level, spec.hysteresis, active=self.alarms.is_open(sid, kind))
            event = self.alarms.condition(sid, kind, holds=holds, now=ts, detail=f"WIP {wip} >= {level}")
            if event is not None:
                change.events.append(event)

    def station_state(self, station_id: str) -> Literal["normal", "warning", "limit"]:
        """normal, warning or limit: the worst open WIP alarm of the station."""
        if self.alarms.is_open(station_id, "wip_limit"):
            return "limit"
        return "warning" if self.alarms.is_open(station_id, "wip_warning") else "normal"

    def plc_seen(self, plc_id: str, now: float) -> FloorChange:
        """Anything was heard from a PLC (a value or a heartbeat)."""
        self._last_seen[plc_id] = max(now, self._last_seen.get(plc_id, now))
        return self._plc_condition(plc_id, now)

    def plc_status(self, plc_id: str, *, online: bool, now: float, detail: str = "") -> FloorChange:
        """The PLC's poller reports it reachable or not."""
        if online:
            self._reported_offline.discard(plc_id)
            self._last_seen[plc_id] = max(now, self._last_seen.get(plc_id, now))
        else:
            self._reported_offline.add(plc_id)
        return self._plc_condition(plc_id, now, detail)

    def _plc_condition(self, plc_id: str, now: float, detail: str = "") -> FloorChange:
        spec = self._plcs.get(plc_id)
        if spec is None:
            raise UnknownSubjectError(plc_id)
        silent = now - self._last_seen[plc_id] > spec.offline_after_s
        reported = plc_id in self._reported_offline
        if not detail:
            detail = "reported offline" if reported else f"nothing heard for {spec.offline_after_s:g} s"
        event = self.alarms.condition(plc_id, "plc_offline", holds=reported or silent, now=now, detail=detail)
        return FloorChange(events=[event] if event is not None else [])

    def tick(self, now: float, scheduled: Collection[str] = ()) -> FloorChange:
        """Advance time: silent PLCs go offline; stations in `scheduled` (their line is meant to run now) that
        put nothing out for their `stalled_after_s` get a counter_stalled alarm, cleared by output or the end
        of the schedule."""
        change = FloorChange()
        for plc_id in self._plcs:
            change.events += self._plc_condition(plc_id, now).events
        for sid, station in self.stations.items():
            limit = station.spec.stalled_after_s
            if limit is None:
                continue
            holds = False
            if sid in scheduled:
                since = self._scheduled_since.setdefault(sid, now)
                quiet_from = max(since, self._started_at, station.last_out_at or since)
                holds = now - quiet_from > limit
            else:
                self._scheduled_since.pop(sid, None)
            detail = f"nothing counted out for {limit:g} s while scheduled"
            event = self.alarms.condition(sid, "counter_stalled", holds=holds, now=now, detail=detail)
            if event is not None:
                change.events.append(event)
        return change
