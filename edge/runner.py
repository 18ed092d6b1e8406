"""`kanban-edge edge`: the plant file's device adapters (Modbus pollers, MT-SICS scales) on one broker link."""

from __future__ import annotations

import asyncio
import logging

from edge.adapter import DeviceAdapter, Publish
from edge.modbus_poller import PlcPoller
from edge.mtsics_scale import MtSicsScale
from gateway.config import PlantConfig
from gateway.mqtt_link import MqttLink

log = logging.getLogger(__name__)


def adapters(config: PlantConfig) -> list[DeviceAdapter]:
    """A poller per PLC with a Modbus transport (the others publish MQTT themselves) and one per scale device."""
    cap = config.mqtt.reconnect_max_s
    found: list[DeviceAdapter] = [
        PlcPoller(plc=plc, prefix=config.prefix, reconnect_max_s=cap) for plc in config.plcs if plc.polled
    ]
    bins = {b.id: b for b in config.bins}
    found += [
        MtSicsScale(device=d, topic=config.scale_topic(bins[d.bin]), reconnect_max_s=cap) for d in config.scales
    ]
    return found


def start_adapters(tasks: asyncio.TaskGroup, config: PlantConfig, publish: Publish) -> list[asyncio.Task[None]]:
    """Start every adapter in `tasks`, one named task each: a device that hangs never stalls another."""
    return [tasks.create_task(a.run(publish), name=a.name) for a in adapters(config)]


async def run_edge(config: PlantConfig, stop: asyncio.Event) -> None:
    """Run the adapters until `stop` is set."""
    link = MqttLink(
        settings=config.mqtt, client_id=f"{config.client_id}-edge", subscriptions=[], handler=lambda *_: None
    )
    async with asyncio.TaskGroup() as tasks:
        workers = [tasks.create_task(link.run(), name="mqtt-link"), *start_adapters(tasks, config, link.publish)]
        log.info("running %d device adapter(s)", len(workers) - 1)
        await stop.wait()
        for task in workers:
            task.cancel()
