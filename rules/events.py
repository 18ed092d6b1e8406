"""Events the rules emit: each is a fact the gateway commits before acknowledging its cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.andon import Colour


@dataclass(frozen=True, slots=True)
class SignalReleased:
    """A kanban pull signal was released: card `card` of a loop goes to its supplier."""

    bin_id: str
    signal_id: str
    card: int
    ts: float
    pieces: int | None  # level when released; None when no reading has been seen
    by: str  # what released it: "scale", "rfid:<reader>", ...
    urgent: bool = False  # level at or below the loop's safety stock
    stockout: bool = False  # no pieces left
    kind: Literal["signal_released"] = "signal_released"


SignalChangeKind = Literal["signal_acknowledged", "signal_shipped", "signal_received", "signal_cancelled"]


@dataclass(frozen=True, slots=True)
class SignalChanged:
    """An open signal moved on in its lifecycle; received and cancelled close it and free its card."""

    bin_id: str
    signal_id: str
    card: int
    ts: float
    kind: SignalChangeKind
    by: str  # who or what: "api", "erp", "scale", "rfid:<reader>", ...
    pieces: int | None = None  # level at the time, when known
    quantity: int | None = None  # shipped quantity
    asn: str | None = None  # advance shipping notice reference
    reason: str | None = None  # e.g. "refill" for a receipt seen by the scale


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


Event = SignalReleased | SignalChanged | SensorStale | SensorRecovered


AlarmKind = Literal["wip_warning", "wip_limit", "counter_stalled", "plc_offline", "sensor_stale"]


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    """An alarm condition began: a new active alarm for its subject (station, PLC or bin) and kind."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    detail: str  # what the condition was, e.g. "WIP 12 >= 10"; every later event of the alarm repeats it
    kind: Literal["alarm_raised"] = "alarm_raised"


@dataclass(frozen=True, slots=True)
class AlarmAcknowledged:
    """Someone acknowledged an active alarm; it stays open until its condition ends."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    detail: str  # the alarm's detail, as raised
    kind: Literal["alarm_acknowledged"] = "alarm_acknowledged"


@dataclass(frozen=True, slots=True)
class AlarmCleared:
    """An alarm's condition ended."""

    subject: str
    alarm_kind: AlarmKind
    ts: float
    detail: str  # the alarm's detail, as raised
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
    """A station's Andon colour changed (`previous` is None for a station's first colour)."""

    subject: str  # <line>/<station>
    ts: float
    colour: Colour
    previous: Colour | None
    kind: Literal["andon_changed"] = "andon_changed"


AlarmEvent = AlarmRaised | AlarmAcknowledged | AlarmCleared
FloorEvent = AlarmEvent | WipChanged | AndonChanged
"""Events about stations, PLCs and alarms: keyed by `subject` rather than a bin."""
