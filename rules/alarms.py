"""Alarm lifecycle: active → acknowledged → cleared, at most one open alarm per subject and kind.

An alarm is raised when its condition begins and cleared when it ends; acknowledging records that someone saw
it and changes nothing else. A condition that begins again while an alarm of its kind is still open (active or
acknowledged) raises nothing: there is never a second open alarm for the same subject and kind, whatever
order conditions and acknowledgements arrive in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Literal

from rules.events import AlarmAcknowledged, AlarmCleared, AlarmEvent, AlarmKind, AlarmRaised

AlarmStatus = Literal["active", "acknowledged", "cleared"]


class AlarmStateError(ValueError):
    """The alarm cannot take this step (a cleared alarm cannot be acknowledged)."""


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm's record."""

    subject: str
    kind: AlarmKind
    status: AlarmStatus
    raised_at: float
    detail: str = ""
    acknowledged_at: float | None = None
    cleared_at: float | None = None


def acknowledge(alarm: Alarm, now: float) -> tuple[Alarm, AlarmAcknowledged | None]:
    """Acknowledge an alarm; acknowledging twice is a no-op, a cleared alarm cannot be acknowledged."""
    if alarm.status == "cleared":
        raise AlarmStateError(f"the {alarm.kind} alarm of {alarm.subject} is already cleared")
    if alarm.status == "acknowledged":
        return alarm, None
    return (
        replace(alarm, status="acknowledged", acknowledged_at=now),
        AlarmAcknowledged(subject=alarm.subject, alarm_kind=alarm.kind, ts=now, detail=alarm.detail),
    )


def level_condition(value: int, level: int, hysteresis: int, *, active: bool) -> bool:
    """Whether a level alarm holds: it begins at `value >= level` and ends below `level - hysteresis`."""
    return value >= level - hysteresis if active else value >= level


class AlarmBook:
    """The open alarms of a plant, keyed by (subject, kind)."""

    def __init__(self, open_alarms: Iterable[Alarm] = ()) -> None:
        self._open: dict[tuple[str, AlarmKind], Alarm] = {}
        for alarm in open_alarms:
            if alarm.status != "cleared":
                self._open[(alarm.subject, alarm.kind)] = alarm

    def __iter__(self) -> Iterator[Alarm]:
        return iter(self._open.values())

    def is_open(self, subject: str, kind: AlarmKind) -> bool:
        """Whether an alarm of this subject and kind is active or acknowledged."""
        return (subject, kind) in self._open

    def condition(
        self, subject: str, kind: AlarmKind, *, holds: bool, now: float, detail: str = ""
    ) -> AlarmEvent | None:
        """Report whether a condition holds now: raises or clears the alarm when that changes."""
        key = (subject, kind)
        alarm = self._open.get(key)
        if holds and alarm is None:
            self._open[key] = Alarm(subject=subject, kind=kind, status="active", raised_at=now, detail=detail)
            return AlarmRaised(subject=subject, alarm_kind=kind, ts=now, detail=detail)
        if not holds and alarm is not None:
            del self._open[key]
            return AlarmCleared(subject=subject, alarm_kind=kind, ts=now, detail=alarm.detail)
        return None

    def acknowledge(self, subject: str, kind: AlarmKind, now: float) -> AlarmAcknowledged | None:
        """Acknowledge the open alarm of this subject and kind; `AlarmStateError` when there is none."""
        alarm = self._open.get((subject, kind))
        if alarm is None:
            raise AlarmStateError(f"no open {kind} alarm for {subject}")
        self._open[(subject, kind)], event = acknowledge(alarm, now)
        return event
