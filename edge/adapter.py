"""The interface every device adapter implements."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

Publish = Callable[[str, bytes], object]
"""Publishes a payload on a topic (any result is ignored); the adapter's owner holds the broker connection."""


class DeviceAdapter(Protocol):
    """One device, or a group of devices behind one connection, polled by one task."""

    name: str

    async def run(self, publish: Publish) -> None:
        """Read the device and publish until cancelled; reconnect with backoff when it is gone."""
        ...


def stop_if_cancelled() -> None:
    """Raise `CancelledError` when the running task was cancelled but the cancellation got lost on the way.

    Python 3.11's `asyncio.wait_for`, which pymodbus uses for connecting and for every reply, returns the
    result when it arrives just as the task is cancelled, and the cancellation is gone (CPython gh-86296): a
    poller would then go on forever after SIGTERM. Adapters call this once per round of their loops.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
