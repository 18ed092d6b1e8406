"""Backflush in the gateway: the estimated level of a consumed bin goes through the bin's own rule.

The estimate is fed to the scale-bin rule as a stable reading of the weight it amounts to, on the same path
as a scale's reading, so cards, re-arming, staleness and snapshots work as for weighed bins: when the
station produces, when a card of the bin is received (a container more), and every half stale-after time
(a pause in production is not a stale sensor). An estimate is snapshotted like a scale's level: a crash
can lose the last few seconds of consumption, never a card.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from config.floor import consumptions
from config.plant import PlantConfig
from gateway.ingest.errors import PayloadError
from gateway.ingest.scale import ScaleIngest
from rules.backflush import Backflush, estimate
from rules.engine import Engine
from rules.events import Event, SignalChanged
from rules.scale_bin import ScaleBin

log = logging.getLogger(__name__)


class BackflushFeed:
    """Turns production and receipts into readings of the consumed bins."""

    def __init__(self, *, config: PlantConfig, engine: Engine, scales: ScaleIngest) -> None:
        self._rules = Backflush(consumptions(config.stations))
        self._bins = {b: scale_bin for b in sorted(self._rules.bins) if (scale_bin := engine.get(b)) is not None}
        self._scales = scales

    def produced(self, produced: dict[str, int], now: float) -> bool:
        """Units put out per station; True when the readings caused effects (cards released)."""
        held = False
        for station, units in produced.items():
            for bin_id, taken in self._rules.consume(station, units).items():
                held = self._feed(self._bins[bin_id], now, taken=taken) or held
        return held

    def received(self, events: Iterable[Event], now: float) -> None:
        """Committed events: a received card of a consumed bin brings a container."""
        for event in events:
            if isinstance(event, SignalChanged) and event.kind == "signal_received" and event.bin_id in self._bins:
                scale_bin = self._bins[event.bin_id]
                self._feed(scale_bin, now, received=scale_bin.spec.container_qty)

    def tick(self, now: float) -> None:
        """Repeat each estimate at least every half stale-after time (and start unknown ones full)."""
        for scale_bin in self._bins.values():
            last = scale_bin.state.last_seen
            if last is None or now - last >= scale_bin.spec.stale_after_s / 2:
                self._feed(scale_bin, now)

    def _feed(self, scale_bin: ScaleBin, now: float, *, taken: int = 0, received: int = 0) -> bool:
        cfg = scale_bin.spec
        pieces = estimate(scale_bin.state.pieces, cfg.capacity_pieces, taken=taken, received=received)
        weight_g = cfg.tare_g + pieces * cfg.unit_weight_g
        try:
            return self._scales.handle(cfg.bin_id, json.dumps({"weight_g": weight_g}).encode(), now)
        except PayloadError as exc:
            log.warning("backflush estimate of bin %s not applied: %s", cfg.bin_id, exc.detail)
            return False
