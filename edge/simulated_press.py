"""A simulated PLC for the demo: the plant's counter points count up at rates that swing against each other.

It publishes what the Modbus poller would: `{"value": n}` on `<prefix>/plc/<plc>/<point>` and the PLC's
status, so stations fill and drain and their WIP warnings, limits and Andon colours change in a few minutes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from config.floor import STATUS_POINT, Plc
from edge.adapter import Publish

_PERIOD_S = 120.0
_BASE_PER_S = 1.5
_SWING = 0.6


@dataclass(slots=True)
class _Counter:
    topic: str
    phase: float
    maximum: int
    value: float = 0.0


class SimulatedPress:
    """Counters of the plant's PLCs, each a quarter period behind the one before."""

    name = "simulated-press"

    def __init__(self, plcs: list[Plc], prefix: str) -> None:
        self._status = [f"{prefix}/plc/{plc.id}/{STATUS_POINT}" for plc in plcs]
        points = [(plc.id, p) for plc in plcs for p in plc.points if p.counter is not None]
        self._counters = [
            _Counter(f"{prefix}/plc/{plc_id}/{p.name}", i * math.pi / 2, p.counter_max())
            for i, (plc_id, p) in enumerate(points)
        ]

    def step(self, now: float, dt_s: float, publish: Publish) -> None:
        """Advance every counter by `dt_s` seconds and publish its value and the PLCs' status."""
        for c in self._counters:
            rate = _BASE_PER_S * (1 + _SWING * math.sin(2 * math.pi * now / _PERIOD_S + c.phase))
            c.value = (c.value + rate * dt_s) % (c.maximum + 1)
            publish(c.topic, json.dumps({"value": int(c.value)}).encode())
        for topic in self._status:
            publish(topic, b'{"online": true}')
