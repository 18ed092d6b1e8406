"""A publish-only broker connection for device adapters, retried with backoff until it is up."""

from __future__ import annotations

import asyncio
import logging

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

from edge.mqtt_link import backoff_s

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
            delay = backoff_s(attempt, max_delay_s)
            log.warning("publisher cannot reach %s:%s (%s); retrying in %.1f s", host, port, exc, delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        return client
