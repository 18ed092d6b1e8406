"""Rejected input: counted per reason, logged at a limited rate, republished on the dead-letter topic."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from gateway.messages import deadletter_body

log = logging.getLogger(__name__)

_LOG_EVERY_S = 10.0


class Rejections:
    """Counts and reports rejected messages; never raises."""

    def __init__(
        self,
        *,
        topic: str,
        publish: Callable[[str, bytes], bool],
        max_published_per_s: int = 1000,
        counts: dict[str, int] | None = None,
    ) -> None:
        self.counts: Counter[str] = Counter(counts or {})
        self._topic = topic
        self._publish = publish
        self._max_per_s = max_published_per_s
        self._window_start = 0.0
        self._window_count = 0
        self._last_log: dict[str, float] = {}
        self._unlogged: Counter[str] = Counter()

    def reject(self, *, topic: str, payload: bytes, reason: str, detail: str, now: float) -> None:
        """Count, log (rate-limited) and dead-letter one message."""
        self.counts[reason] += 1
        self._log(topic, reason, detail, now)
        if now - self._window_start >= 1.0:
            self._window_start, self._window_count = now, 0
        if self._window_count >= self._max_per_s:
            # A flood of bad input must not become a flood of dead letters: count what is not sent.
            self.counts["deadletter_suppressed"] += 1
            return
        self._window_count += 1
        body = deadletter_body(topic=topic, payload=payload, reason=reason, detail=detail, received_at=now)
        if not self._publish(self._topic, body):
            self.counts["deadletter_unsent"] += 1

    def _log(self, topic: str, reason: str, detail: str, now: float) -> None:
        if now - self._last_log.get(reason, -_LOG_EVERY_S) < _LOG_EVERY_S:
            self._unlogged[reason] += 1
            return
        self._last_log[reason] = now
        more = self._unlogged.pop(reason, 0)
        suffix = f" ({more} more since the last report)" if more else ""
        log.warning("rejected message on %s: %s: %s%s", topic, reason, detail, suffix)
