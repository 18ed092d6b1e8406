"""What goes to InfluxDB, the pure part: event bodies and bin levels as points (schema: docs/INFLUXDB.md).

Tags are only values bounded by the plant file or by the code (site, line, station, bin, sku, supplier,
PLC, event type, alarm kind, rejection reason); ids that grow without bound (signal ids, sequence numbers)
are fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.line_protocol import FieldValue, Point
from connectors.webhook_payload import LoopInfo, loop_of

_MEASUREMENTS = {
    "signal_": "kanban_signal", "alarm_": "alarm", "sensor_": "sensor_health", "wip_": "station_wip",
    "andon_": "andon",
}
_TAG_KEYS = ("site", "type", "line", "station", "sku", "supplier", "alarm_kind", "alarm", "plc", "subject")
_NOT_FIELDS = frozenset((*_TAG_KEYS, "ts", "bin_id", "loop"))


def ms(ts: float) -> int:
    """Epoch seconds as epoch milliseconds."""
    return round(ts * 1000)


def measurement_of(event_type: str) -> str:
    """The measurement an event type is written to; kinds without one of their own go to `event`."""
    return next((m for prefix, m in _MEASUREMENTS.items() if event_type.startswith(prefix)), "event")


def event_point(body: Mapping[str, Any], loops: Mapping[str, LoopInfo]) -> Point:
    """A committed event as a point at the event's time, its loop's line/station/sku/supplier as tags."""
    loop = loop_of(body)
    tags = {key: str(body[key]) for key in _TAG_KEYS if isinstance(body.get(key), str)}
    info = loops.get(loop) if loop else None
    if loop:
        tags["bin"] = loop
    if info is not None:
        tags.setdefault("line", info.line)
        tags.setdefault("station", info.station)
        tags.setdefault("sku", info.sku)
        if info.supplier:
            tags.setdefault("supplier", info.supplier)
    fields: dict[str, FieldValue] = {
        key: value for key, value in body.items()
        if key not in _NOT_FIELDS and isinstance(value, str | int | float | bool)
    }
    return Point(measurement_of(str(body["type"])), tags, fields, ms(epoch_s(str(body["ts"]))))


def epoch_s(iso: str) -> float:
    """An ISO 8601 time as epoch seconds; a time without zone is UTC."""
    t = datetime.fromisoformat(iso)
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True, slots=True)
class Level:
    """A bin's level as the rules see it now."""

    bin_id: str
    pieces: int
    weight_g: float | None
    level_pct: float
    stale: bool
    ts: float  # measurement time of the reading


@dataclass(slots=True)
class _Written:
    level_pct: float
    stale: bool
    ts: float
    at: float


class LevelFilter:
    """Report by exception, like a process historian: a level goes out when it moved more than the dead-band,
    the sensor's health changed, or the heartbeat interval passed since the bin's last point."""

    def __init__(self, *, deadband_pct: float, heartbeat_s: float) -> None:
        self._deadband = deadband_pct
        self._heartbeat_s = heartbeat_s
        self._last: dict[str, _Written] = {}

    def due(self, level: Level, now: float) -> float | None:
        """The time to stamp the point with when it is due (the reading's, or now for a heartbeat), else None."""
        last = self._last.get(level.bin_id)
        if last is None or level.stale != last.stale or (
            level.ts != last.ts and abs(level.level_pct - last.level_pct) > self._deadband
        ):
            stamp = level.ts
        elif now - last.at >= self._heartbeat_s:
            stamp = max(now, level.ts)
        else:
            return None
        if last is not None and ms(stamp) <= ms(last.ts):
            return None  # never two points for one bin at one time: the second would overwrite the first
        self._last[level.bin_id] = _Written(level.level_pct, level.stale, stamp, now)
        return stamp


def level_point(level: Level, loop: LoopInfo, *, site: str, ts: float) -> Point:
    """A bin's level as a `bin_level` point."""
    tags = {"site": site, "line": loop.line, "station": loop.station, "bin": level.bin_id, "sku": loop.sku}
    if loop.supplier:
        tags["supplier"] = loop.supplier
    fields: dict[str, FieldValue] = {"pieces": level.pieces, "level_pct": float(level.level_pct),
                                     "stale": level.stale}
    if level.weight_g is not None:
        fields["weight_g"] = float(level.weight_g)
    return Point("bin_level", tags, fields, ms(ts))


def rejected_point(*, site: str, reason: str, count: int, ts: float) -> Point:
    """The running count of inputs rejected for one reason."""
    return Point("rejected_inputs", {"site": site, "reason": reason}, {"count": count}, ms(ts))


OUTBOX_COUNTS = ("pending", "delivered", "dead", "dropped")


def outbox_point(*, site: str, consumer: str, counts: Mapping[str, int], ts: float) -> Point:
    """One outbox consumer's items by status, and those its size cap dropped."""
    fields: dict[str, FieldValue] = {name: int(counts.get(name, 0)) for name in OUTBOX_COUNTS}
    return Point("outbox", {"site": site, "consumer": consumer}, fields, ms(ts))
