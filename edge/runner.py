"""`kanban-edge edge`: the Modbus pollers of a plant file, publishing through one broker connection."""

from __future__ import annotations

import asyncio
import logging

from edge.adapter import Publish
from edge.modbus_poller import PlcPoller
from gateway.config import PlantConfig
from gateway.mqtt_link import MqttLink

log = logging.getLogger(__name__)


def pollers(config: PlantConfig) -> list[PlcPoller]:
    """One poller per PLC that has a Modbus transport (the others publish MQTT themselves)."""
    return [
        PlcPoller(plc=plc, prefix=config.prefix, reconnect_max_s=config.mqtt.reconnect_max_s)
        for plc in config.plcs
        if plc.polled
    ]


def start_pollers(tasks: asyncio.TaskGroup, config: PlantConfig, publish: Publish) -> list[asyncio.Task[None]]:
    """Start every poller in `tasks`, one named task each: a PLC that hangs never stalls another."""
    return [tasks.create_task(p.run(publish), name=p.name) for p in pollers(config)]


async def run_edge(config: PlantConfig, stop: asyncio.Event) -> None:
    """Run the pollers until `stop` is set."""
    link = MqttLink(
        settings=config.mqtt, client_id=f"{config.client_id}-edge", subscriptions=[], handler=lambda *_: None
    )
    async with asyncio.TaskGroup() as tasks:
        workers = [tasks.create_task(link.run(), name="mqtt-link"), *start_pollers(tasks, config, link.publish)]
        log.info("polling %d PLC(s)", len(workers) - 1)
        await stop.wait()
        for task in workers:
            task.cancel()
