"""Sparkplug B ingest: `spBv1.0/<group>/<type>/<node>[/<device>]` → the node's session → mapped metrics → the
bins' rules (weights) and the shop floor (PLC points), as their own topics would feed them.

The protocol (births, aliases, sequence, deaths) is `sparkplug_session`'s; this module maps what it says onto
the plant: values to inputs, a node's or device's death to its bins' stale alarms and its PLCs' offline alarms,
and a missed or unreadable message to a rebirth request (NCMD `Node Control/Rebirth`). A bad metric value is
dead-lettered on its own, with the metric's name; the message's other metrics are applied.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from config.sparkplug import MetricMap, SparkplugConfig
from gateway.floor.shop_floor import ShopFloor
from gateway.ingest.errors import PayloadError
from gateway.ingest.rejections import Rejections
from gateway.ingest.scale import ScaleIngest
from gateway.ingest.sparkplug_codec import MalformedPayloadError, rebirth_command
from gateway.ingest.sparkplug_session import NODE, NodeSession, Update, Value
from rules.scale_bin import Reading

log = logging.getLogger(__name__)

NAMESPACE = "spBv1.0"
TOPIC_PREFIX = f"{NAMESPACE}/"

Source = tuple[str, str, str | None]
"""(group, node, device): where a metric comes from; device None for the node's own metrics."""


@dataclass(slots=True)
class _Input:
    """A mapped metric: what it feeds; its last accepted value, when that was measured, the time of the last
    reading fed (measured or repeated) and when that was applied."""

    source: Source
    mapping: MetricMap
    value: bool | int | float | None = None
    measured_ts: float | None = None
    fed_ts: float = 0.0
    applied_at: float = 0.0


class SparkplugIngest:
    """The topic handler for Sparkplug B edge nodes; `get` makes it the `Keys` of their topic family."""

    def __init__(
        self, *, config: SparkplugConfig, scales: ScaleIngest, floor: ShopFloor, rejections: Rejections,
        max_clock_skew_s: float, publish: Callable[[str, bytes], bool], clock: Callable[[], float],
    ) -> None:
        self._scales = scales
        self._floor = floor
        self._rejections = rejections
        self._max_skew_s = max_clock_skew_s
        self._publish = publish
        self._clock = clock
        self._repeat_s = config.repeat_s
        self.counts: Counter[str] = Counter()
        self._sessions = {(n.group, n.node): NodeSession(counts=self.counts) for n in config.nodes}
        self._inputs = {
            (n.group, n.node, m.device, m.name): _Input((n.group, n.node, m.device), m)
            for n in config.nodes for m in n.metrics
        }

    def subscriptions(self) -> list[str]:
        """The node's own topics and its devices', for every configured node (any message type)."""
        return [
            topic for group, node in self._sessions
            for topic in (f"{NAMESPACE}/{group}/+/{node}", f"{NAMESPACE}/{group}/+/{node}/+")
        ]

    def get(self, key: str, /) -> str | None:
        """The key itself when it names a configured node (`<group>/<type>/<node>[/<device>]`), else None."""
        parts = key.split("/")
        return key if len(parts) in (3, 4) and (parts[0], parts[2]) in self._sessions else None

    def connected(self) -> None:
        """After (re)connecting: ask every node for its births, since a clean session knows none of them."""
        now = self._clock()
        for (group, node), session in self._sessions.items():
            if session.rebirth(now, force=True):
                self._ask_rebirth(group, node, now)

    def handle(self, key: str, payload: bytes, now: float) -> bool:
        """One message of a configured node; True when it caused effects to commit."""
        group, kind, node, *rest = key.split("/")
        device = rest[0] if rest else NODE
        try:
            update = self._sessions[(group, node)].on_message(kind, device, payload, now)
        except MalformedPayloadError as exc:
            raise PayloadError("invalid_sparkplug", f"{kind}: {exc}") from exc
        if update.rebirth:
            self._ask_rebirth(group, node, now)
        return self._apply(group, node, update, now, topic=f"{TOPIC_PREFIX}{key}", payload=payload)

    def tick(self, now: float) -> None:
        """Apply again the last values of inputs whose node is up and that did not change for `repeat_s`."""
        for item in self._inputs.values():
            if item.value is None or now - item.applied_at < self._repeat_s or not self._online(item.source):
                continue
            item.applied_at, item.fed_ts = now, max(now, item.fed_ts)  # never before what was fed already
            try:
                self._feed(item, item.value, item.fed_ts, now)
            except PayloadError as exc:  # what was accepted once is refused now: stop repeating it
                log.warning("not repeating %s: %s: %s", item.mapping.name, exc.reason, exc.detail)
                item.value = None

    def _apply(self, group: str, node: str, update: Update, now: float, *, topic: str, payload: bytes) -> bool:
        held = False
        for device in update.born:
            held = self._set_plcs_online(group, node, device, now, online=True) or held
        for value in update.values:
            item = self._inputs.get((group, node, value.device, value.name))
            if item is None:
                continue
            try:
                held = self._accept(item, value, now) or held
            except PayloadError as exc:
                detail = f"metric {value.name!r}: {exc.detail}"
                self._rejections.reject(topic=topic, payload=payload, reason=exc.reason, detail=detail, now=now)
        for device in update.died:
            held = self._died(group, node, device, now) or held
        return held

    def _accept(self, item: _Input, value: Value, now: float) -> bool:
        number = value.value
        if not isinstance(number, bool | int | float):
            raise PayloadError("invalid_payload", f"{type(number).__name__} is not a number or a boolean")
        if isinstance(number, float) and not math.isfinite(number):
            raise PayloadError("not_finite", "value is NaN or infinite")
        measured = value.ts_ms / 1000.0
        if measured > now + self._max_skew_s:
            raise PayloadError("future_timestamp", f"timestamp is {measured - now:.0f} s ahead of the gateway clock")
        ts = measured
        if item.measured_ts is not None and item.measured_ts <= measured < item.fed_ts:
            # Newer than the last measurement but older than a repeat of it, which said the old value still held
            # then: the change counts from the repeat's time, rather than being refused as out of order.
            ts = item.fed_ts
        held = self._feed(item, number, ts, now)
        item.value, item.measured_ts, item.fed_ts, item.applied_at = number, measured, ts, now
        return held

    def _feed(self, item: _Input, value: bool | int | float, ts: float, now: float) -> bool:
        mapping = item.mapping
        if mapping.bin is not None:
            if isinstance(value, bool):
                raise PayloadError("invalid_payload", f"bin {mapping.bin} takes a weight, got {value}")
            reading = Reading(weight_g=value * mapping.grams_per_unit, ts=ts)
            return self._scales.apply(mapping.bin, reading, now)
        assert mapping.point is not None
        return self._floor.apply_point(mapping.point, value, ts, now)

    def _died(self, group: str, node: str, device: str | None, now: float) -> bool:
        """The node (and so its devices) or one device is gone: its bins go stale, its PLCs offline."""
        held = self._set_plcs_online(group, node, device, now, online=False)
        for item in self._inputs.values():
            if self._fed_by(item.source, group, node, device) and item.mapping.bin is not None:
                held = self._scales.lost(item.mapping.bin, now) or held
        return held

    def _set_plcs_online(self, group: str, node: str, device: str | None, now: float, *, online: bool) -> bool:
        plcs = {
            item.mapping.point.partition("/")[0] for item in self._inputs.values()
            if item.mapping.point is not None and self._fed_by(item.source, group, node, device)
        }
        what = f"Sparkplug node {group}/{node}" + (f" device {device}" if device is not NODE else "")
        detail = "" if online else f"{what} is offline (death certificate)"
        held = False
        for plc in sorted(plcs):
            held = self._floor.set_online(plc, online=online, now=now, detail=detail) or held
        return held

    @staticmethod
    def _fed_by(source: Source, group: str, node: str, device: str | None) -> bool:
        """Whether an input comes from this device, or from this node at all when `device` is the node."""
        return source[:2] == (group, node) and (device is NODE or source[2] == device)

    def _online(self, source: Source) -> bool:
        group, node, device = source
        return self._sessions[(group, node)].online(device)

    def _ask_rebirth(self, group: str, node: str, now: float) -> None:
        """Publish NCMD `Node Control/Rebirth` to the node (QoS 0, as the specification has commands sent)."""
        self._publish(f"{NAMESPACE}/{group}/NCMD/{node}", rebirth_command(round(now * 1000)))
