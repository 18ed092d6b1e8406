"""Rejected input: counted per reason, logged at a limited rate, republished on the dead-letter topic."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from gateway.log_limit import LogThrottle, excerpt, traceback_excerpt
from gateway.messages import deadletter_body

log = logging.getLogger(__name__)

MAX_DETAIL_CHARS = 500
"""The most of a rejection's detail a dead letter carries (an error's text may quote its input)."""


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
        self._throttle = LogThrottle()

    def reject(
        self, *, topic: str, payload: bytes, reason: str, detail: str, now: float, error: BaseException | None = None
    ) -> None:
        """Count, log (rate-limited, with `error`'s traceback when given) and dead-letter one message."""
        self.counts[reason] += 1
        detail = detail[:MAX_DETAIL_CHARS]
        self._log(topic, reason, detail, now, error)
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

    def _log(self, topic: str, reason: str, detail: str, now: float, error: BaseException | None) -> None:
        left_out = self._throttle.allow(reason, now)
        if left_out is None:
            return
        suffix = f" ({left_out} more since the last report)" if left_out else ""
        trace = f"\n{traceback_excerpt(error)}" if error is not None else ""
        log.warning("rejected message on %s: %s: %s%s%s", excerpt(topic), reason, excerpt(detail), suffix, trace)
