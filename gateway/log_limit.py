"""Log lines at a limited rate: a flood of bad input must not become a flood of log (or of disk)."""

from __future__ import annotations

import traceback
from collections import Counter

EVERY_S = 10.0
"""At most one line per kind of problem this often; the next line says how many were left out."""
EXCERPT_CHARS = 200
"""The most of a payload, topic or error text a log line carries."""


class LogThrottle:
    """Decides which lines of each kind (a key) are logged: one per `every_s`, the rest counted."""

    def __init__(self, every_s: float = EVERY_S) -> None:
        self._every_s = every_s
        self._last: dict[str, float] = {}
        self._left_out: Counter[str] = Counter()

    def allow(self, key: str, now: float) -> int | None:
        """None to leave this line out; else log it, saying that the returned number were left out before it."""
        last = self._last.get(key)
        if last is not None and now - last < self._every_s:
            self._left_out[key] += 1
            return None
        self._last[key] = now
        return self._left_out.pop(key, 0)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` cut to `limit` characters, saying how long it was when cut."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def traceback_excerpt(error: BaseException, frames: int = 12) -> str:
    """A traceback for a log line whose error text is cut like any excerpt (an error may quote its input)."""
    stack = traceback.format_list(traceback.extract_tb(error.__traceback__)[-frames:])
    return f"Traceback (most recent call last):\n{''.join(stack)}{type(error).__name__}: {excerpt(str(error))}"
