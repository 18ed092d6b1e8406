"""Backflush: units produced at a station consume pieces from the bins (loops) it draws parts from.

For bins without a scale this gives an estimated level that falls with production and rises by a container
when a card is received, so their cards are released like those of weighed bins. Fractions of a piece per
unit are carried over, so 0.5 pieces per unit takes one piece every second unit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Consumption:
    """Each unit produced at `station_id` uses `per_unit` pieces from `bin_id`."""

    station_id: str
    bin_id: str
    per_unit: float


class Backflush:
    """Pieces taken from each consumed bin as units are produced."""

    def __init__(self, consumptions: Iterable[Consumption]) -> None:
        self._uses: dict[str, list[Consumption]] = {}
        for c in consumptions:
            self._uses.setdefault(c.station_id, []).append(c)
        self.bins = {c.bin_id for uses in self._uses.values() for c in uses}
        self._carry: dict[str, float] = {}

    def consume(self, station_id: str, units: int) -> dict[str, int]:
        """Whole pieces to take off each bin the station draws from, for `units` produced."""
        taken: dict[str, int] = {}
        for c in self._uses.get(station_id, ()):
            total = self._carry.get(c.bin_id, 0.0) + units * c.per_unit
            whole = math.floor(total + 1e-9)  # 3 × 0.1 is a whole 0.3, not 0.29999
            self._carry[c.bin_id] = max(0.0, total - whole)
            if whole:
                taken[c.bin_id] = taken.get(c.bin_id, 0) + whole
        return taken


def estimate(pieces: int | None, capacity: int, *, taken: int = 0, received: int = 0) -> int:
    """A bin's estimated level after taking and receiving pieces; an unknown level starts full."""
    level = capacity if pieces is None else pieces
    return max(0, min(capacity, level - taken + received))
