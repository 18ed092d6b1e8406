"""Cumulative production counters: successive values in, production deltas out.

A PLC counter only grows, wrapping to zero after its maximum (the type's width, or a configured maximum such
as 999,999,999). A value below the previous one is either a rollover (the counter wrapped, and the units
counted across the wrap are a plausible step) or a reset (the PLC restarted or someone cleared the counter).
A reset never produces negative production nor a burst of millions: the units counted since the reset are the
new value itself, when that is a plausible step, else nothing. An upward jump larger than a plausible step
(a preset, a replaced PLC) rebases the counter without counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Change(Enum):
    """How a new counter value relates to the previous one."""

    FIRST = "first"
    COUNTED = "counted"
    ROLLOVER = "rollover"
    RESET = "reset"
    JUMP = "jump"


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """A counter's range: values run 0..`max_value`; a step above `max_step` units is not production."""

    counter_id: str
    max_value: int
    max_step: int

    def __post_init__(self) -> None:
        if self.max_value < 1 or not 1 <= self.max_step <= self.max_value:
            raise ValueError(f"counter {self.counter_id}: need 1 <= max_step <= max_value")


@dataclass(frozen=True, slots=True)
class CounterState:
    """The last accepted value and its time."""

    value: int
    ts: float


def step(spec: CounterSpec, last: CounterState | None, value: int) -> tuple[int, Change]:
    """Units produced between the last value and `value`, and what kind of change it was."""
    if not 0 <= value <= spec.max_value:
        raise ValueError(f"counter {spec.counter_id}: value {value} outside 0..{spec.max_value}")
    if last is None:
        return 0, Change.FIRST
    if value >= last.value:
        delta = value - last.value
        return (delta, Change.COUNTED) if delta <= spec.max_step else (0, Change.JUMP)
    wrapped = spec.max_value - last.value + value + 1
    if wrapped <= spec.max_step:
        return wrapped, Change.ROLLOVER
    return (value if value <= spec.max_step else 0), Change.RESET


def width_max(type_name: str) -> int:
    """The largest value of an unsigned or signed integer type name such as uint32 (signed: its positive half)."""
    bits = int(type_name.removeprefix("u").removeprefix("int"))
    return (1 << bits) - 1 if type_name.startswith("u") else (1 << (bits - 1)) - 1
