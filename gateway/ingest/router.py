"""The hot path: topic → handler → staged effects. Runs synchronously in the MQTT handler.

Every topic the service listens to is routed to a `TopicHandler` and the key it handles (a bin id, a reader
id, ...): by one dict lookup, or, for a family of topics `<prefix><key>` (scales on their standard topic), by
its prefix, so that 50,000 bins need no topic string and dict entry each. Handlers raise `PayloadError` to
reject a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.ingest.errors import PayloadError
from gateway.ingest.rejections import Rejections
from gateway.mqtt.link import Ack
from gateway.state.committer import Committer

TopicHandler = Callable[[str, bytes, float], bool]
"""(key, payload, now) → whether the message caused effects, so that its acknowledgement waits for them."""


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Limits applied before decoding."""

    max_payload_bytes: int


class Keys(Protocol):
    """The keys of a topic family: `get` returns the configured key string (its hash already computed) for a
    slice of a topic that names one, else None."""

    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TopicFamily:
    """Topics `<prefix><key>` for every key of `keys`, handled by one handler."""

    prefix: str
    handler: TopicHandler
    keys: Keys


@dataclass(frozen=True, slots=True)
class UnknownTopic:
    """How to reject a message under one of our prefixes that names nothing configured."""

    prefix: str
    reason: str
    what: str


class Ingest:
    """Routes messages to their handlers, counts them and rejects bad input."""

    def __init__(
        self,
        *,
        routes: dict[str, tuple[TopicHandler, str]],
        families: list[TopicFamily],
        unknown: list[UnknownTopic],
        committer: Committer,
        rejections: Rejections,
        limits: IngestLimits,
        clock: Callable[[], float],
    ) -> None:
        self._routes = routes
        self._families = families
        self._unknown = unknown
        self._committer = committer
        self._rejections = rejections
        self._max_payload_bytes = limits.max_payload_bytes
        self._clock = clock
        self.processed = 0

    def handle(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        """Process one message; never raises (bad input is rejected, not fatal)."""
        now = self._clock()
        held = False
        committer = self._committer
        committer.origin = (topic, payload)  # what the handler stages is this message's, to refuse it if need be
        try:
            handler, key = self._route(topic)
            if len(payload) > self._max_payload_bytes:
                raise PayloadError("payload_too_large", f"{len(payload)} bytes > limit {self._max_payload_bytes}")
            held = handler(key, payload, now)
        except PayloadError as exc:
            self._rejections.reject(topic=topic, payload=payload, reason=exc.reason, detail=exc.detail, now=now)
        except Exception as exc:  # a defect, not the input's fault: rejected all the same, never fatal
            self._rejections.reject(
                topic=topic, payload=payload, reason="internal_error", detail=f"{type(exc).__name__}: {exc}",
                now=now, error=exc,
            )
        committer.origin = None
        self.processed += 1
        if ack is not None:
            self._committer.ack(ack, held=held)

    def _route(self, topic: str) -> tuple[TopicHandler, str]:
        for family in self._families:
            if topic.startswith(family.prefix):
                key = family.keys.get(topic[len(family.prefix):])
                if key is not None:
                    return family.handler, key
        route = self._routes.get(topic)
        if route is None:
            raise self._unrouted(topic)
        return route

    def _unrouted(self, topic: str) -> PayloadError:
        for rule in self._unknown:
            if topic.startswith(rule.prefix):
                return PayloadError(rule.reason, f"no {rule.what} is configured for topic {topic}")
        return PayloadError("unknown_topic", f"nothing is configured for topic {topic}")
