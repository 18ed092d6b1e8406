"""`kanban-edge demo`: broker, service, edge poller and simulator in one process, stopped with Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import sys

import httpx

from config.connectors import InfluxConfig
from config.plant import PlantConfig
from edge.runner import run_edge
from edge.sim.plc_server import served_here
from edge.sim.run import run_simulation
from gateway.demo.broker import demo_broker
from gateway.demo.status import StatusLine, log_above, watch
from gateway.plant import Plant
from gateway.service import Service

log = logging.getLogger(__name__)

INFLUX_DATABASE = "kanban"


async def run_demo(
    config: PlantConfig, stop: asyncio.Event, *, speed: float, seed: int | None = None,
    influx_url: str | None = None, new_state: bool = False,
) -> None:
    """Run until `stop` is set: the simulated plant runs `speed` times faster than real time.

    The demo's edge poller reads only the PLCs the simulator plays (on this machine): a demo never reaches out
    to devices on the plant network."""
    if influx_url is not None:
        config = config.model_copy(update={"influx": await _influx_1x(influx_url)})
    async with demo_broker(config.mqtt.host, config.mqtt.port) as broker:
        service = Service(Plant.of(config), new_state=new_state)
        _print_urls(config, broker)
        status = StatusLine(sys.stdout)
        with log_above(status):
            async with asyncio.TaskGroup() as tasks:
                runner = tasks.create_task(service.run(stop), name="service")
                devices = [tasks.create_task(run_simulation(config, stop, speed=speed, seed=seed), name="simulator"),
                           tasks.create_task(_watch(config, status), name="status-line")]
                simulated = config.model_copy(update={"plcs": [p for p in config.plcs if served_here(p)], "scales": []})
                if simulated.plcs and not config.edge.in_gateway:
                    devices.append(tasks.create_task(run_edge(simulated, stop), name="edge"))
                await runner
                for task in devices:
                    task.cancel()


def _print_urls(config: PlantConfig, broker: str) -> None:
    api = f"http://{config.api.host}:{config.api.port}"
    print(f"broker:  {broker}")
    print(f"Andon:   {api}/andon")
    print(f"API:     {api}/api/v1/signals?status=open   {api}/api/v1/bins   {api}/api/v1/stations")
    print(f"         {api}/api/v1/alarms   {api}/api/v1/andon   {api}/api/v1/kpis   {api}/docs")
    print(f"health:  {api}/healthz   {api}/readyz   {api}/metrics")
    if config.influx is not None:
        print(f"history: {config.influx.url} ({config.influx.database or config.influx.bucket})")
    print(f"topics:  {config.prefix}/scale/<bin>  {config.prefix}/signal/<bin>  {config.prefix}/deadletter")
    print("Ctrl-C stops.", flush=True)


async def _watch(config: PlantConfig, status: StatusLine) -> None:
    await watch(f"http://{config.api.host}:{config.api.port}", status)


async def _influx_1x(url: str) -> InfluxConfig:
    """History to an InfluxDB 1.x: the database is created if it is missing (a no-op when it exists)."""
    influx = InfluxConfig(api="v1", url=url, database=INFLUX_DATABASE)
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.post(f"{influx.url}/query", data={"q": f"CREATE DATABASE {INFLUX_DATABASE}"})
            answer.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("could not create database %s at %s (%s): history waits in the outbox until it exists",
                    INFLUX_DATABASE, url, exc)
    return influx
