"""Runs a simulated plant until stopped: the scales and readers on MQTT, a Modbus server per PLC."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import AsyncIterator

from config.floor import Plc
from config.plant import PlantConfig
from edge.mqtt_link import MqttLink
from edge.sim.line import LineModel
from edge.sim.plant import PlantSimulation
from edge.sim.plc_server import SimulatedPlc, served_here

log = logging.getLogger(__name__)

STEP_S = 1.0
"""Scales publish once a second, PLC registers change once a second."""
MATERIAL_CALL_EVERY_S = 150.0
MATERIAL_CALL_FOR_S = 20.0


class SimulationError(Exception):
    """The simulation cannot start (a PLC's port is taken)."""

    exit_code = 2


async def run_simulation(config: PlantConfig, stop: asyncio.Event, *, speed: float, seed: int | None = None) -> None:
    """Play the plant's devices until `stop` is set; lead times and consumption run `speed` times faster."""
    rng = random.Random(seed)
    plant = PlantSimulation(config, speed=speed, rng=rng, now=time.time())
    signals = f"{config.prefix}/signal/+"

    def on_message(topic: str, payload: bytes) -> None:
        with contextlib.suppress(ValueError, TypeError, RecursionError):
            body = json.loads(payload)
            if isinstance(body, dict):
                plant.on_signal(body, time.time())

    link = MqttLink(settings=config.mqtt, client_id=f"{config.client_id}-simulator", subscriptions=[signals],
                    on_message=on_message)
    async with _plcs(config) as plcs, asyncio.TaskGroup() as tasks:
        link_task = tasks.create_task(link.run(), name="simulator-mqtt-link")
        log.info("simulating %d bins, %d RFID readers and %d PLCs at %g× speed",
                 len(plant.bins), len(config.rfid.readers), len(plcs), speed)
        floor = _Floor(config, plcs)
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            for m in plant.step(time.time(), STEP_S):
                link.publish(m.topic, m.payload, qos=m.qos)
            await floor.step(STEP_S)
            next_at += STEP_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - loop.time()))
        link_task.cancel()


@contextlib.asynccontextmanager
async def _plcs(config: PlantConfig) -> AsyncIterator[list[SimulatedPlc]]:
    started: list[SimulatedPlc] = []
    try:
        for plc in config.plcs:
            if not plc.points and not plc.lights:
                continue
            if not served_here(plc):
                log.warning("PLC %s is not simulated: only PLCs on a loopback address (127.0.0.1) are", plc.id)
                continue
            server = SimulatedPlc(plc)
            try:
                await server.start()
            except OSError as exc:
                raise SimulationError(f"PLC {plc.id}: cannot listen on {plc.host}:{plc.port}: {exc}") from exc
            started.append(server)
        yield started
    finally:
        for server in started:
            await server.stop()


class _Floor:
    """The PLCs' points: counters from the line model, material calls now and then, analog values drifting."""

    def __init__(self, config: PlantConfig, plcs: list[SimulatedPlc]) -> None:
        self._plcs = {s.plc.id: s for s in plcs}
        served = set(self._plcs)
        self._line = LineModel([s for s in config.stations
                                if all(ref.split("/")[0] in served for ref in (*s.in_counters, *s.out_counters))])
        self._calls = sorted({s.material_call for s in config.stations if s.material_call is not None})
        self._t = 0.0
        self._shown: dict[str, str] = {}

    async def step(self, dt_s: float) -> None:
        self._t += dt_s
        self._line.step(dt_s)
        for server in self._plcs.values():
            await self._write(server.plc, server)
            for station, colour in (await server.lights()).items():
                if self._shown.get(station) != colour:
                    log.info("stack light %s shows %s", station, colour)
                    self._shown[station] = colour

    async def _write(self, plc: Plc, server: SimulatedPlc) -> None:
        for point in plc.points:
            ref = f"{plc.id}/{point.name}"
            if point.counter is not None:
                total = self._line.totals.get(ref)
                if total is not None:
                    await server.set(point.name, int(total) % (point.counter_max() + 1))
            elif point.type == "bool":
                offset = self._calls.index(ref) * MATERIAL_CALL_EVERY_S / 3 if ref in self._calls else 0.0
                calling = ref in self._calls and (self._t + offset) % MATERIAL_CALL_EVERY_S < MATERIAL_CALL_FOR_S
                await server.set(point.name, calling)
            else:
                await server.set(point.name, 45.0 + 5.0 * math.sin(2 * math.pi * self._t / 300.0))
