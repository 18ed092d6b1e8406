"""`kanban-edge edge`: the plant file's device adapters (Modbus and OPC UA pollers, MT-SICS scales) on one broker
link.

Stack lights follow the retained Andon topics `<prefix>/andon/<line>/<station>`: the link subscribes to those
of the lights configured on the PLCs and hands each colour to the PLC's poller.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from config.plant import PlantConfig
from edge.adapter import DeviceAdapter, Publish
from edge.mqtt_link import MqttLink

if TYPE_CHECKING:
    from edge.modbus_poller import ModbusPoller
    from edge.opcua_poller import OpcUaPoller

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Adapters:
    """The plant file's device adapters: PLC pollers (which also drive stack lights) and scale devices."""

    plcs: list[ModbusPoller | OpcUaPoller] = field(default_factory=list)
    scales: list[DeviceAdapter] = field(default_factory=list)

    def all(self) -> list[DeviceAdapter]:
        """Every adapter, each to run as a task of its own."""
        return [*self.plcs, *self.scales]


def adapters(config: PlantConfig, own_topic: Callable[[str], str | None]) -> Adapters:
    """A poller per PLC with a Modbus or OPC UA transport (the others publish MQTT themselves) and one per scale
    device; `own_topic` gives a bin's own scale topic (None: the standard one).

    The device modules are imported only for a plant that has such devices: pymodbus alone takes ~10 MB,
    asyncua ~40 MB.
    """
    cap = config.mqtt.reconnect_max_s
    found = Adapters()
    if modbus := [plc for plc in config.plcs if plc.polled and plc.opcua is None]:
        from edge.modbus_poller import ModbusPoller

        found.plcs.extend(ModbusPoller(plc=plc, prefix=config.prefix, reconnect_max_s=cap) for plc in modbus)
    if opcua := [plc for plc in config.plcs if plc.opcua is not None]:
        from edge.opcua_poller import OpcUaPoller

        found.plcs.extend(OpcUaPoller(plc=plc, prefix=config.prefix, reconnect_max_s=cap) for plc in opcua)
    if config.scales:
        from edge.mtsics_scale import MtSicsScale

        found.scales.extend(
            MtSicsScale(device=d, topic=config.scale_topic(d.bin, own_topic(d.bin)), reconnect_max_s=cap)
            for d in config.scales
        )
    return found


def start_adapters(
    tasks: asyncio.TaskGroup, running: Iterable[DeviceAdapter], publish: Publish
) -> list[asyncio.Task[None]]:
    """Start every adapter in `tasks`, one named task each: a device that hangs never stalls another."""
    return [tasks.create_task(a.run(publish), name=a.name) for a in running]


def show_colour(plcs: Iterable[ModbusPoller | OpcUaPoller], station: str, colour: str) -> None:
    """Hand a station's Andon colour to the poller whose PLC drives its stack light."""
    for plc in plcs:
        plc.light(station, colour)


async def run_edge(config: PlantConfig, stop: asyncio.Event) -> None:
    """Run the adapters until `stop` is set."""
    running = adapters(config, {b.id: b.scale.topic for b in config.bins}.get)
    andon = f"{config.prefix}/andon/"
    lights = sorted(andon + s for plc in running.plcs for s in plc.stations)

    def on_message(topic: str, payload: bytes) -> None:
        # Acknowledged on receipt: the broker keeps each station's colour retained, so nothing is lost.
        try:
            colour = json.loads(payload)["colour"]
        except (ValueError, KeyError, TypeError, RecursionError):
            log.warning("ignoring an Andon message on %s that has no colour", topic)
        else:
            show_colour(running.plcs, topic.removeprefix(andon), str(colour))

    link = MqttLink(
        settings=config.mqtt, client_id=f"{config.client_id}-edge", subscriptions=lights, on_message=on_message
    )
    async with asyncio.TaskGroup() as tasks:
        workers = [tasks.create_task(link.run(), name="mqtt-link"), *start_adapters(tasks, running.all(), link.publish)]
        log.info("running %d device adapter(s), %d stack light(s)", len(running.all()), len(lights))
        await stop.wait()
        for task in workers:
            task.cancel()
