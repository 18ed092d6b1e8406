"""Simulated weight-scale bins, pure: people pick parts (unstable readings while a hand is in the bin), the
scale reads with noise and now and then a spike, and containers arrive.

A bin publishes one reading per step in the contract of real scales: `{"weight_g", "stable"}` on its scale
topic, or Tasmota's HX711 telemetry (kg) on a bin's own topic.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

SPIKE_CHANCE = 1 / 3000
"""Chance that a reading is a spike (a box set down on the scale): about one a minute across 50 bins."""
ROOM = 1.0
"""A container goes into the bin when the bin then holds at most this share of its capacity."""


@dataclass(slots=True)
class SimBin:
    """One bin on a scale: `pieces` go down by picks of `pick_size` at `use_per_s` on average."""

    bin_id: str
    topic: str
    tasmota: bool
    unit_weight_g: float
    tare_g: float
    container_qty: int
    capacity: int
    pieces: float
    use_per_s: float
    owed: float = 0.0  # pieces used since the last pick, taken out at the next one
    picking: float = 0.0  # pieces in the hand of the person picking now
    waiting: int = 0  # full containers delivered to the line that do not fit in the bin yet

    @property
    def pick_size(self) -> float:
        """Pieces a person takes at once: a handful, or more when the line uses the part fast."""
        return max(1.0, self.container_qty / 25, self.use_per_s * 3)

    @property
    def full_containers(self) -> int:
        """Containers not yet emptied: the last one counts while it holds a single piece."""
        return math.ceil(max(0.0, self.pieces) / self.container_qty)

    def step(self, dt_s: float, rng: random.Random) -> bytes:
        """Advance `dt_s` seconds and return this step's reading."""
        while self.waiting and self.pieces + self.container_qty <= self.capacity * ROOM:
            self.pieces += self.container_qty
            self.waiting -= 1
        if self.picking:
            self.pieces = max(0.0, self.pieces - self.picking)
            self.picking = 0.0
        else:
            self.owed += self.use_per_s * dt_s
            if self.owed >= self.pick_size and self.pieces > 0:
                self.picking = min(self.pieces, round(self.owed))
                self.owed = 0.0
        if rng.random() < SPIKE_CHANCE:
            return self.payload(self._gross(self.capacity * 1.5) + rng.uniform(5000, 20000), stable=True)
        if self.picking:
            hand_g = rng.uniform(20, 150)  # a hand resting on the parts while it takes some
            return self.payload(self._gross(self.pieces - self.picking / 2) + hand_g, stable=False)
        noise_g = rng.gauss(0, min(0.3, self.unit_weight_g / 5))
        return self.payload(self._gross(round(self.pieces)) + noise_g, stable=True)

    def deliver(self) -> None:
        """A full container arrives at the line; it goes into the bin at the next step that it fits."""
        self.waiting += 1

    def _gross(self, pieces: float) -> float:
        return self.tare_g + max(0.0, pieces) * self.unit_weight_g

    def payload(self, weight_g: float, *, stable: bool) -> bytes:
        """A reading as the bin's scale publishes it."""
        if self.tasmota:
            return json.dumps({"HX711": {"Weight": round(weight_g / 1000.0, 4), "WeightRaw": 0}}).encode()
        return json.dumps({"weight_g": round(weight_g, 1), "stable": stable}).encode()
