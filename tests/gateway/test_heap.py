"""Freed heap memory goes back to the operating system, so the service's RSS follows what it holds."""

from __future__ import annotations

import re
from pathlib import Path

from gateway import heap


def rss_mb() -> float:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024  # type: ignore[index]


def test_trim_returns_the_pages_of_a_freed_burst() -> None:
    burst = [bytearray(1000) for _ in range(50_000)]  # ~50 MB of malloc'd blocks, as a burst of events leaves
    kept = bytearray(1000)  # allocated last: the freed blocks lie below it, where malloc keeps them
    before = rss_mb()
    del burst
    heap.trim()
    assert before - rss_mb() > 30
    assert len(kept) == 1000
