"""`kanban-edge demo`: broker, service and simulated scales in one process, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from config.plant import PlantConfig
from edge.mqtt_out import connect_publisher
from edge.simulated_press import SimulatedPress
from edge.simulated_scales import SimBin, SimulatedScales
from gateway.demo.broker import demo_broker
from gateway.plant import Plant
from gateway.service import Service

log = logging.getLogger(__name__)


def simulated_bins(config: PlantConfig, *, drain_s: float = 30.0) -> list[SimBin]:
    """Every bin starts full and reaches its reorder point in about `drain_s` seconds."""
    items = config.items_by_sku
    sims = []
    for b in config.bins:
        start = float(b.capacity)
        sims.append(
            SimBin(
                bin_id=b.id, topic=config.scale_topic(b.id, b.scale.topic), tasmota=b.scale.topic is not None,
                unit_weight_g=items[b.sku].unit_weight_g, tare_g=b.scale.tare_g,
                container_qty=b.container_qty, pieces=start,
                use_per_s=(start - b.reorder_point) / drain_s,
            )
        )
    return sims


async def run_demo(
    config: PlantConfig, stop: asyncio.Event, *, drain_s: float = 30.0, new_state: bool = False
) -> None:
    """Run until `stop` is set; simulated bins reach their reorder point in about `drain_s` seconds."""
    async with demo_broker(config.mqtt.host, config.mqtt.port) as broker:
        service = Service(Plant.of(config), new_state=new_state)
        api = f"http://{config.api.host}:{config.api.port}"
        print(f"broker:  {broker}")
        print(f"API:     {api}/api/v1/signals?status=open   {api}/api/v1/bins   {api}/docs")
        print(f"         {api}/api/v1/stations   {api}/api/v1/andon   {api}/api/v1/alarms")
        print(f"topics:  {config.prefix}/scale/<bin>  {config.prefix}/signal/<bin>  {config.prefix}/deadletter")
        print("Ctrl-C stops.")
        async with asyncio.TaskGroup() as tasks:
            runner = tasks.create_task(service.run(stop), name="service")
            sim = tasks.create_task(_simulate(config, drain_s), name="simulator")
            await runner
            sim.cancel()


async def _simulate(config: PlantConfig, drain_s: float) -> None:
    sim = SimulatedScales(simulated_bins(config, drain_s=drain_s))
    press = SimulatedPress([plc for plc in config.plcs if plc.points], config.prefix)
    client = await connect_publisher(config.mqtt.host, config.mqtt.port, f"{config.client_id}-simulator")

    def on_message(client_: object, topic: str, payload: bytes, qos: int, properties: object) -> None:
        with contextlib.suppress(ValueError, KeyError):
            body = json.loads(payload)
            if body["type"] == "signal_released":
                sim.on_signal(body["bin_id"], time.time())

    def publish(topic: str, payload: bytes) -> None:
        client.publish(topic, payload, qos=0)

    client.on_message = on_message
    client.subscribe(f"{config.prefix}/signal/+", qos=1)
    try:
        while True:
            sim.step(time.time(), 1.0, publish)
            press.step(time.time(), 1.0, publish)
            await asyncio.sleep(1.0)
    finally:
        await client.disconnect()
