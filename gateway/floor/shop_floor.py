"""The gateway side of the shop floor: PLC topics → rules → staged effects, and the API's floor operations.

Topics: `<prefix>/plc/<plc>/<point>` carries `{"value": ..., "ts": ...}`; `<prefix>/plc/<plc>/status` carries
`{"online": true|false, "ts": ..., "error": "..."}` from the poller. A counter value that changes anything
is acknowledged only after the change is committed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from config.floor import STATUS_POINT, counter_specs, plc_specs, station_specs
from config.plant import PlantConfig
from edge.timestamps import iso
from gateway.ingest.errors import PayloadError
from gateway.ingest.router import TopicHandler
from gateway.ingest.scale_payloads import _timestamp
from gateway.state.committer import Committer, Request
from gateway.state.floor import FloorReads, alarm_of
from rules.alarms import AlarmStateError, acknowledge
from rules.events import AndonChanged, FloorEvent, WipChanged
from rules.floor import CounterVerdict, Floor, FloorChange, UnknownSubjectError


class PointPayload(BaseModel):
    """A PLC point's value."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    value: bool | int | float
    ts: str | float | None = None


class StatusPayload(BaseModel):
    """The poller's view of a PLC."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    online: bool
    ts: str | float | None = None
    error: str = ""


class FloorOperationError(Exception):
    """An API request the floor cannot carry out; `not_found` tells a missing id from a refused step."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.not_found = not_found


class ShopFloor:
    """Owns the floor rules in the gateway: topic handlers, the ticker's step and the API's operations."""

    def __init__(
        self, *, config: PlantConfig, reads: FloorReads, committer: Committer, started_at: float,
        on_produced: Callable[[dict[str, int], float], bool] = lambda produced, now: False,
    ) -> None:
        self._config = config
        self._on_produced = on_produced  # backflush: units put out per station; True when it staged effects
        self._committer = committer
        self._reads = reads
        self._site = config.site
        self._max_skew_s = config.ingest.max_clock_skew_s
        self.station_config = {s.id: s for s in config.stations}
        self.rules = Floor(
            plcs=plc_specs(config.plcs), counters=counter_specs(config.plcs),
            stations=station_specs(config.stations), counter_states=reads.counter_states(),
            station_states=reads.station_states(), open_alarms=reads.open_alarms(), started_at=started_at,
        )
        self._counters = {f"{plc.id}/{p.name}" for plc in config.plcs for p in plc.points if p.counter is not None}
        # What each point can carry, worked out once: a value outside is rejected at the door.
        self._domains = {f"{plc.id}/{p.name}": (p.domain(), p.type) for plc in config.plcs for p in plc.points}
        self._calls = {s.material_call: s.id for s in config.stations if s.material_call is not None}
        self.material_calls: dict[str, bool] = {}  # station → its operator's material call is on
        self.calls_seen: set[str] = set()  # stations whose material call was reported since the last Andon refresh
        self.received = 0  # PLC messages handled (points and statuses), for the metrics

    def routes(self) -> dict[str, tuple[TopicHandler, str]]:
        """Topic → (handler, key) for every configured point and every PLC's status."""
        routes: dict[str, tuple[TopicHandler, str]] = {}
        for plc in self._config.plcs:
            base = f"{self._config.prefix}/plc/{plc.id}"
            routes[f"{base}/{STATUS_POINT}"] = (self.handle_status, plc.id)
            for point in plc.points:
                routes[f"{base}/{point.name}"] = (self.handle_point, f"{plc.id}/{point.name}")
        return routes

    def handle_point(self, key: str, payload: bytes, now: float) -> bool:
        """A point's value; True when it caused effects (its acknowledgement waits for their commit).

        A value outside its point's domain (what its type, scale and offset can give), or one its counter
        refuses, is rejected before anything changes.
        """
        self.received += 1
        body = _decode(PointPayload, payload)
        return self.apply_point(key, body.value, body.ts, now)

    def apply_point(self, key: str, value: bool | int | float, ts: str | float | None, now: float) -> bool:
        """A decoded point value, measured at `ts` (None: now), checked and applied as `handle_point` does."""
        domain, type_ = self._domains[key]
        if isinstance(value, bool) and not domain.flag:
            raise PayloadError("invalid_payload", f"point {key} ({type_}) takes a number, got {value}")
        if domain.whole and isinstance(value, float) and not value.is_integer():
            raise PayloadError("invalid_payload", f"point {key} ({type_}) takes a whole number, got {value!r}")
        if not domain.low <= value <= domain.high:
            raise PayloadError(
                "out_of_range",
                f"point {key} ({type_}): {_shown(value)} outside {_shown(domain.low)}..{_shown(domain.high)}",
            )
        counted = None
        if key in self._counters:
            verdict, counted = self.rules.on_counter(key, int(value), self._ts(ts, now))
            if verdict is CounterVerdict.OUT_OF_ORDER:
                raise PayloadError("out_of_order", f"counter {key}: reading older than the last one")
            if verdict is CounterVerdict.OUT_OF_RANGE:
                raise PayloadError("out_of_range", f"counter {key}: {int(value)} outside its configured range")
        change = self.rules.plc_seen(key.partition("/")[0], now)
        station = self._calls.get(key)
        if station is not None:
            self.material_calls[station] = bool(value)
            self.calls_seen.add(station)
        fed = False  # backflush readings staged effects of bins
        if counted is not None:
            change.events += counted.events
            change.counters, change.stations = counted.counters, counted.stations
            if counted.produced:
                fed = self._on_produced(counted.produced, now)
        return self._stage(change) or fed

    def handle_status(self, plc_id: str, payload: bytes, now: float) -> bool:
        """The poller reports a PLC reachable or not."""
        self.received += 1
        body = _decode(StatusPayload, payload)
        return self.set_online(plc_id, online=body.online, now=now, detail=body.error)

    def set_online(self, plc_id: str, *, online: bool, now: float, detail: str = "") -> bool:
        """A PLC is known reachable or not (its poller or its Sparkplug node says so)."""
        return self._stage(self.rules.plc_status(plc_id, online=online, now=now, detail=detail))

    def tick(self, now: float) -> None:
        """Advance time: silent PLCs go offline, scheduled stations that put nothing out stall."""
        scheduled = [
            s.id for s in self.station_config.values()
            if s.stalled_after_s is not None and (s.schedule is None or s.schedule.running(now))
        ]
        self._stage(self.rules.tick(now, scheduled))

    async def set_wip(self, station_id: str, wip: int, now: float) -> None:
        """A physical count of a station's WIP, committed before returning."""
        try:
            change = self.rules.set_wip(station_id, wip, now)
        except UnknownSubjectError as exc:
            raise FloorOperationError(f"no station with id {station_id!r}", not_found=True) from exc
        await self._commit(Request(f"POST /api/v1/stations/{station_id}/wip"), change)

    async def acknowledge(self, alarm_id: int, now: float) -> None:
        """Acknowledge an alarm by id (any subject: station, PLC or bin), committed before returning."""
        row = self._reads.alarm(alarm_id)
        if row is None:
            raise FloorOperationError(f"no alarm with id {alarm_id}", not_found=True)
        alarm = alarm_of(row)
        try:
            if self.rules.alarms.is_open(alarm.subject, alarm.kind):
                event = self.rules.alarms.acknowledge(alarm.subject, alarm.kind, now)
            else:
                _, event = acknowledge(alarm, now)
        except AlarmStateError as exc:
            raise FloorOperationError(str(exc)) from exc
        if event is not None:
            await self._commit(Request(f"POST /api/v1/alarms/{alarm_id}/acknowledge"), FloorChange(events=[event]))

    async def _commit(self, call: Request, change: FloorChange) -> None:
        """Stage an API call's change as its own part and wait for its commit (`EffectRefusedError` if refused)."""
        with self._committer.staging_for(call):
            self._stage(change)
        await self._committer.commit(call)

    def _stage(self, change: FloorChange) -> bool:
        if not change:
            return False
        self._committer.stage_floor(change, [self.body(event) for event in change.events])
        return True

    def body(self, event: FloorEvent) -> dict[str, Any]:
        """The published form of a floor event."""
        body: dict[str, Any] = {"type": event.kind, "site": self._site, "ts": iso(event.ts), "subject": event.subject}
        if isinstance(event, AndonChanged):
            line, _, station_id = event.subject.partition("/")
            return body | {"line": line, "station": station_id, "colour": event.colour, "previous": event.previous}
        station = self.station_config.get(event.subject)
        if isinstance(event, WipChanged):
            return body | {"station": event.subject, "line": station.line if station else None, "wip": event.wip,
                           "delta": event.delta, "reason": event.reason}
        body["alarm_kind"] = event.alarm_kind
        if event.alarm_kind.startswith("wip_") and station is not None:
            body |= {"station": event.subject, "line": station.line}
        elif event.alarm_kind == "plc_offline":
            body["plc"] = event.subject
        elif event.alarm_kind == "sensor_stale":
            body["bin_id"] = event.subject
        body["detail"] = event.detail  # every event of an alarm says what the alarm is about
        return body

    def _ts(self, ts: str | float | None, now: float) -> float:
        if ts is None:
            return now
        value = _timestamp(ts)
        if value > now + self._max_skew_s:
            raise PayloadError("future_timestamp", f"ts is {value - now:.0f} s ahead of the gateway clock")
        if not math.isfinite(value):
            raise PayloadError("not_finite", "ts is not finite")
        return value


def _shown(number: float) -> str:
    """A number for a rejection's detail, short whatever its size (a huge integer is described, not written)."""
    if isinstance(number, int) and number.bit_length() > 64:
        return f"a {number.bit_length()}-bit {'negative ' if number < 0 else ''}integer"
    return str(number) if isinstance(number, int) else f"{number:.9g}"


_M = TypeVar("_M", bound=BaseModel)


def _decode(model: type[_M], payload: bytes) -> _M:
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        if err["type"] == "json_invalid":
            raise PayloadError("invalid_json", str(err["msg"])) from exc
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        raise PayloadError("invalid_payload", f"{where}: {err['msg']}") from exc
