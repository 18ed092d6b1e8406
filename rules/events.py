"""Events the rules emit: each is a fact the gateway commits before acknowledging its cause."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


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
