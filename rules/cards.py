"""Kanban cards: the lifecycle of one released card (pull signal) and the rule for who may move it.

released → acknowledged → shipped → received (closed); released or acknowledged → cancelled.
Acknowledging is optional: a released card may be shipped or received directly (a supplier that does not
confirm, a refill seen by the scale). Received and cancelled are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rules.events import SignalChangeKind

SignalStatus = Literal["released", "acknowledged", "shipped", "received", "cancelled"]
Action = Literal["acknowledge", "ship", "receive", "cancel"]

OPEN_STATUSES: tuple[SignalStatus, ...] = ("released", "acknowledged", "shipped")
CLOSED_STATUSES: tuple[SignalStatus, ...] = ("received", "cancelled")

_TARGET: dict[Action, SignalStatus] = {
    "acknowledge": "acknowledged",
    "ship": "shipped",
    "receive": "received",
    "cancel": "cancelled",
}
_ALLOWED_FROM: dict[Action, tuple[SignalStatus, ...]] = {
    "acknowledge": ("released",),
    "ship": ("released", "acknowledged"),
    "receive": ("released", "acknowledged", "shipped"),
    "cancel": ("released", "acknowledged"),
}
_WHY: dict[SignalStatus, str] = {
    "acknowledged": "it is already acknowledged",
    "shipped": "it is already shipped",
    "received": "it was already received and is closed",
    "cancelled": "it was cancelled and is closed",
    "released": "it is only released",
}


@dataclass(frozen=True, slots=True)
class Card:
    """An open card of a loop: which physical card (1..N), its current signal and where it stands."""

    number: int
    signal_id: str
    status: SignalStatus
    released_at: float
    tag: str | None = None  # the RFID tag (EPC) whose read released it, when a tag stands for any card


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a transition is not allowed; the API answers it with 409."""

    signal_id: str
    action: Action
    status: SignalStatus

    @property
    def message(self) -> str:
        """A sentence an operator understands."""
        hint = " (receive it instead)" if self.action == "cancel" and self.status == "shipped" else ""
        return f"cannot {self.action} signal {self.signal_id}: {_WHY[self.status]}{hint}"


def next_status(signal_id: str, status: SignalStatus, action: Action) -> SignalStatus | Refusal:
    """The status after `action`, or the refusal when the lifecycle does not allow it."""
    if status in _ALLOWED_FROM[action]:
        return _TARGET[action]
    return Refusal(signal_id, action, status)


EVENT_KIND: dict[Action, SignalChangeKind] = {
    "acknowledge": "signal_acknowledged",
    "ship": "signal_shipped",
    "receive": "signal_received",
    "cancel": "signal_cancelled",
}
"""The event each successful action emits."""
