"""Events the rules emit: each is a fact the gateway commits before acknowledging its cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.andon import Colour


@dataclass(frozen=True, slots=True)
class SignalReleased:
    """A kanban pull signal (one card) was released for a bin."""

    bin_id: str
    signal_id: str
    ts: float
    pieces: int
    kind: Literal["signal_released"] = "signal_released"


@dataclass(frozen=True, slots=True)
class SignalClosed:
    """A bin's open signal was closed, e.g. because the bin was refilled above its reset point."""

    bin_id: str
    signal_id: str
    ts: float
    pieces: int
    reason: str
    kind: Literal["signal_closed"] = "signal_closed"


@dataclass(frozen=True, slots=True)
class SensorStale:
    """A bin's sensor sent nothing for longer than its stale-after time."""

    bin_id: str
    ts: float
    last_seen: float | None
    kind: Literal["sensor_stale"] = "sensor_stale"


@dataclass(frozen=True, slots=True)
class SensorRecovered:
    """A stale sensor reported again."""

    bin_id: str
    ts: float
    kind: Literal["sensor_recovered"] = "sensor_recovered"


Event = SignalReleased | SignalClosed | SensorStale | SensorRecovered


AlarmKind = Literal["wip_warning", "wip_limit", "counter_stalled", "plc_offline", "sensor_stale"]


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    """An alarm condition began: a new active alarm for its subject (station, PLC or bin) and kind."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    detail: str
    kind: Literal["alarm_raised"] = "alarm_raised"


@dataclass(frozen=True, slots=True)
class AlarmAcknowledged:
    """Someone acknowledged an active alarm; it stays open until its condition ends."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    kind: Literal["alarm_acknowledged"] = "alarm_acknowledged"


@dataclass(frozen=True, slots=True)
class AlarmCleared:
    """An alarm's condition ended."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    kind: Literal["alarm_cleared"] = "alarm_cleared"


WipReason = Literal["counted", "physical_count"]


@dataclass(frozen=True, slots=True)
class WipChanged:
    """A station's work in process changed, from its counters or a physical count."""

    subject: str
    ts: float
    wip: int
    delta: int
    reason: WipReason
    kind: Literal["wip_changed"] = "wip_changed"


@dataclass(frozen=True, slots=True)
class AndonChanged:
    """A station's Andon colour changed (`previous` is None for the first colour after start-up)."""

    subject: str  # <line>/<station>
    ts: float
    colour: Colour
    previous: Colour | None
    kind: Literal["andon_changed"] = "andon_changed"


AlarmEvent = AlarmRaised | AlarmAcknowledged | AlarmCleared
FloorEvent = AlarmEvent | WipChanged | AndonChanged
"""Events about stations, PLCs and alarms: keyed by `subject` rather than a bin."""
