"""A publish-only broker connection for device adapters, retried with backoff until it is up."""

from __future__ import annotations

import asyncio
import logging
import random

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

log = logging.getLogger(__name__)


async def connect_publisher(host: str, port: int, client_id: str, *, max_delay_s: float = 30.0) -> gmqtt.Client:
    """A connected gmqtt client (MQTT 3.1.1); keeps trying until the broker answers."""
    attempt = 0
    while True:
        client = gmqtt.Client(client_id)
        try:
            async with asyncio.timeout(10):
                await client.connect(host, port, version=MQTTv311)
        except (OSError, TimeoutError, gmqtt.mqtt.handler.MQTTConnectError) as exc:
            delay = min(max_delay_s, random.uniform(0.5, 1.5 ** min(10, attempt + 1)))
            log.warning("publisher cannot reach %s:%s (%s); retrying in %.1f s", host, port, exc, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        return client
