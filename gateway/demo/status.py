"""The demo's one-line status: readings/s, open signals, active alarms, outbox pending.

Read from the service's own HTTP API, as anyone watching would. On a terminal the line is redrawn in place
and log lines are written above it; otherwise (a pipe, a file) a plain line is printed every `PLAIN_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any, TextIO

import httpx

PLAIN_EVERY_S = 10.0
_CLEAR = "\r\x1b[K"
_PATHS = ("/api/v1/counters", "/api/v1/signals?status=open&limit=1000", "/api/v1/alarms?status=active&limit=1000",
          "/api/v1/outbox")


class StatusLine:
    """Where the status goes: redrawn on a terminal, appended elsewhere."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.text = ""

    def show(self, text: str) -> None:
        """Show the latest status."""
        self.text = text
        if self.tty:
            self.stream.write(f"{_CLEAR}{text}")
        else:
            self.stream.write(f"status: {text}\n")
        self.stream.flush()

    def close(self) -> None:
        """Leave the last status on its own line."""
        if self.tty and self.text:
            self.stream.write("\n")
            self.stream.flush()


class _AboveStatus(logging.Handler):
    """Writes log records above the status line and redraws it below them."""

    def __init__(self, status: StatusLine, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self._status = status
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._status.stream.write(f"{_CLEAR}{self.format(record)}\n{self._status.text}")
            self._status.stream.flush()
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def log_above(status: StatusLine) -> Iterator[None]:
    """On a terminal, route the root logger's records above the status line while the block runs."""
    root = logging.getLogger()
    if not status.tty:
        yield
        return
    saved = root.handlers[:]
    formatter = saved[0].formatter if saved else None
    root.handlers = [_AboveStatus(status, formatter)]
    try:
        yield
    finally:
        root.handlers = saved
        status.close()


def summary(counters: dict[str, Any], signals: dict[str, Any], alarms: dict[str, Any], outbox: dict[str, Any],
            readings_per_s: float) -> str:
    """The status line from the API's answers."""
    pending = sum(c.get("pending", 0) for c in outbox.get("consumers", {}).values())
    rejected = sum(counters.get("rejected", {}).values())
    more = "+" if signals.get("next_cursor") else ""
    return (f"{readings_per_s:6.1f} readings/s | {signals['count']}{more} open signals | "
            f"{alarms['count']} active alarms | {pending} outbox pending | {rejected} rejected")


async def watch(api: str, status: StatusLine, *, every_s: float = 1.0) -> None:
    """Poll the API and show the status until cancelled; while the API is not up, say so."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request of the status line
    last: tuple[float, int] | None = None
    shown_at = 0.0
    async with httpx.AsyncClient(base_url=api, timeout=5) as client:
        while True:
            try:
                answers = await asyncio.gather(*(client.get(path) for path in _PATHS))
                counters, signals, alarms, outbox = (a.raise_for_status().json() for a in answers)
            except (httpx.HTTPError, ValueError, KeyError):
                text = "waiting for the service ..."
            else:
                now, processed = time.monotonic(), int(counters["processed_since_start"])
                rate = (processed - last[1]) / (now - last[0]) if last and now > last[0] else 0.0
                last = (now, processed)
                text = summary(counters, signals, alarms, outbox, rate)
            if status.tty or time.monotonic() - shown_at >= PLAIN_EVERY_S:
                status.show(text)
                shown_at = time.monotonic()
            await asyncio.sleep(every_s)
