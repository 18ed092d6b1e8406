"""Simulated weight-scale bins for the demo: parts are taken out, and a container arrives after each signal.

It speaks the same contract as real scales: `{"weight_g": ..., "stable": ...}` on `<prefix>/scale/<bin>`,
or Tasmota's HX711 form on a bin's own topic.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from edge.adapter import Publish


@dataclass(slots=True)
class SimBin:
    """One simulated bin."""

    bin_id: str
    topic: str
    tasmota: bool
    unit_weight_g: float
    tare_g: float
    container_qty: int
    pieces: float
    use_per_s: float
    refill_at: float | None = None


class SimulatedScales:
    """Drains bins at a steady rate with noise; refills one container some seconds after its signal."""

    name = "simulated-scales"

    def __init__(self, bins: list[SimBin], *, refill_delay_s: float = 20.0, seed: int | None = None) -> None:
        self.bins = {b.bin_id: b for b in bins}
        self._refill_delay_s = refill_delay_s
        self._random = random.Random(seed)

    def on_signal(self, bin_id: str, now: float) -> None:
        """A pull signal was released: the supplier brings a container after the refill delay."""
        sim = self.bins.get(bin_id)
        if sim is not None and sim.refill_at is None:
            sim.refill_at = now + self._refill_delay_s

    def step(self, now: float, dt_s: float, publish: Publish) -> None:
        """Advance every bin by `dt_s` seconds and publish one reading each."""
        for sim in self.bins.values():
            if sim.refill_at is not None and now >= sim.refill_at:
                sim.pieces += sim.container_qty
                sim.refill_at = None
            taking = self._random.random() < 0.1  # someone is reaching into the bin
            sim.pieces = max(0.0, sim.pieces - sim.use_per_s * dt_s * self._random.uniform(0.5, 1.5))
            weight_g = sim.tare_g + round(sim.pieces) * sim.unit_weight_g + self._random.gauss(0, 0.3)
            publish(sim.topic, self._payload(sim, weight_g, stable=not taking))

    @staticmethod
    def _payload(sim: SimBin, weight_g: float, *, stable: bool) -> bytes:
        if sim.tasmota:
            return json.dumps({"HX711": {"Weight": round(weight_g / 1000.0, 4), "WeightRaw": 0}}).encode()
        return json.dumps({"weight_g": round(weight_g, 1), "stable": stable}).encode()
