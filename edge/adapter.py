"""The interface every device adapter implements."""

from __future__ import annotations

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
