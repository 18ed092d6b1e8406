"""The hot path: topic → decoder → rules → staged effects. Runs synchronously in the MQTT handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from gateway.committer import Committer
from gateway.errors import PayloadError
from gateway.messages import event_body
from gateway.mqtt_link import Ack
from gateway.rejections import Rejections
from gateway.scale_payloads import decode_scale
from gateway.store import BinContext
from rules.engine import Engine
from rules.scale_bin import Verdict

log = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Limits applied before decoding."""

    max_payload_bytes: int
    max_clock_skew_s: float


class Ingest:
    """Feeds scale messages to the rules; stages effects with the committer; rejects bad input."""

    def __init__(
        self,
        *,
        routes: dict[str, str],
        scale_prefix: str,
        engine: Engine,
        contexts: dict[str, BinContext],
        site: str,
        committer: Committer,
        rejections: Rejections,
        limits: IngestLimits,
        clock: Callable[[], float],
    ) -> None:
        self._routes = routes
        self._scale_prefix = scale_prefix
        self._engine = engine
        self._contexts = contexts
        self._site = site
        self._committer = committer
        self._rejections = rejections
        self._limits = limits
        self._clock = clock
        self.processed = 0
        self.dirty: set[str] = set()

    def handle(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        """Process one message; never raises (bad input is rejected, not fatal)."""
        now = self._clock()
        held = False
        try:
            held = self._process(topic, payload, now)
        except PayloadError as exc:
            self._rejections.reject(topic=topic, payload=payload, reason=exc.reason, detail=exc.detail, now=now)
        except Exception as exc:
            log.exception("internal error on a message from %s", topic)
            self._rejections.reject(
                topic=topic, payload=payload, reason="internal_error", detail=repr(exc), now=now
            )
        self.processed += 1
        if ack is not None:
            self._committer.ack(ack, held=held)

    def _process(self, topic: str, payload: bytes, now: float) -> bool:
        bin_id = self._routes.get(topic)
        if bin_id is None:
            reason = "unknown_bin" if topic.startswith(self._scale_prefix) else "unknown_topic"
            raise PayloadError(reason, f"no bin is configured for topic {topic}")
        if len(payload) > self._limits.max_payload_bytes:
            raise PayloadError(
                "payload_too_large", f"{len(payload)} bytes > limit {self._limits.max_payload_bytes}"
            )
        reading = decode_scale(payload, now=now, max_skew_s=self._limits.max_clock_skew_s)
        verdict, events = self._engine.on_reading(bin_id, reading, now)
        if verdict is not Verdict.APPLIED:
            raise PayloadError(verdict.value, _VERDICT_DETAIL[verdict])
        self.dirty.add(bin_id)
        if not events:
            return False
        ctx = self._contexts[bin_id]
        state = self._engine.state_copy(bin_id)
        for event in events:
            self._committer.stage_event(event, event_body(event, ctx, self._site), state)
        return True


_VERDICT_DETAIL = {
    Verdict.NEGATIVE_WEIGHT: "net weight below zero by more than the bin's zero tolerance",
    Verdict.OVER_CAPACITY: "weight above the full bin's weight plus the overload tolerance",
    Verdict.TOO_OLD: "reading older than the bin's stale-after time",
    Verdict.OUT_OF_ORDER: "reading older than the bin's last reading",
}
