"""One task per PLC: reads its register map over Modbus TCP or RTU and publishes the values on MQTT.

Values and the PLC's status go out as `edge/plc_output.py` says. A point the PLC refuses (an address
outside its map, a Modbus exception) is reported by name and left out until the next reconnect; the other
points keep being read.

Stack lights wired to the PLC are set to their station's Andon colour (`light`): a write that fails is
retried on every poll, and after a reconnect every light is written again (the PLC may have restarted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from config.floor import LIGHT_CODES, Plc, Point, StackLight
from edge.adapter import Publish, stop_if_cancelled
from edge.plc_poller import DeviceError, PlcPoller
from edge.read_plan import ReadRequest, plan_reads
from edge.register_codec import CodecError, decode

log = logging.getLogger(__name__)

ModbusClient = AsyncModbusTcpClient | AsyncModbusSerialClient

_MAP_ERRORS = {1: "illegal function", 2: "illegal data address", 3: "illegal data value"}
"""Exception codes that mean the register map is wrong; any other code means the device is in trouble."""


class RegisterMapError(Exception):
    """The PLC refused a read: the register map names something the PLC does not have."""


def modbus_client(plc: Plc) -> ModbusClient:
    """A pymodbus client for the PLC's transport; reconnecting is the poller's job, so pymodbus' is off."""
    if plc.serial is not None:
        s = plc.serial
        return AsyncModbusSerialClient(
            s.port, baudrate=s.baudrate, parity=s.parity, stopbits=s.stopbits, bytesize=s.bytesize,
            timeout=plc.timeout_s, retries=0, reconnect_delay=0,
        )
    assert plc.host is not None
    return AsyncModbusTcpClient(plc.host, port=plc.port, timeout=plc.timeout_s, retries=0, reconnect_delay=0)


class ModbusPoller(PlcPoller[ModbusClient]):
    """One PLC over Modbus TCP or RTU: poll its register map, publish by exception, write its stack lights."""

    def __init__(
        self, *, plc: Plc, prefix: str, clock: Callable[[], float] = time.time, reconnect_max_s: float = 30.0
    ) -> None:
        super().__init__(plc=plc, kind="modbus", where=_where(plc), prefix=prefix, clock=clock,
                         reconnect_max_s=reconnect_max_s)

    def _open(self) -> ModbusClient:
        return modbus_client(self.plc)

    async def _close(self, client: ModbusClient) -> None:
        client.close()

    async def _session(self, client: ModbusClient, publish: Publish) -> None:
        if not await client.connect():
            raise DeviceError(f"cannot connect to {self._where()}")
        plan = plan_reads(self.plc.points)
        loop = asyncio.get_running_loop()
        while True:
            stop_if_cancelled()
            started = loop.time()
            plan = await self._poll(client, plan, publish)
            await self._write_lights(client)
            self._answered = True
            self._out.report(publish, online=True)
            await asyncio.sleep(max(0.0, started + self.plc.poll_interval_s - loop.time()))

    async def _poll(self, client: ModbusClient, plan: list[ReadRequest], publish: Publish) -> list[ReadRequest]:
        """Read every request; returns the plan for the next poll (refused requests split or dropped)."""
        next_plan: list[ReadRequest] = []
        for request in plan:
            try:
                answer = await self._read(client, request)
            except RegisterMapError as exc:
                next_plan += self._refused(request, str(exc))
                continue
            next_plan.append(request)
            for point in request.points:
                self._out.value(publish, point, self._value(point, request, answer))
        return next_plan

    async def _read(self, client: ModbusClient, request: ReadRequest) -> list[int] | list[bool]:
        read = {
            "holding": client.read_holding_registers, "input": client.read_input_registers,
            "coil": client.read_coils, "discrete": client.read_discrete_inputs,
        }[request.table]
        try:
            answer = await read(request.address, count=request.count, device_id=self.plc.device_id)
        except (ModbusException, OSError, TimeoutError) as exc:
            raise DeviceError(f"{self._where()}: {exc}") from exc
        self._check(answer, f"reading {request.describe()}")
        if request.table in ("coil", "discrete"):
            return list(answer.bits[: request.count])
        return list(answer.registers)

    async def _write_lights(self, client: ModbusClient) -> None:
        for light, colour in self._lights.due():
            try:
                await self._write_light(client, light, colour)
            except RegisterMapError as exc:
                self._lights.refused_write(light, colour, str(exc))
            else:
                self._lights.written(light, colour)

    async def _write_light(self, client: ModbusClient, light: StackLight, colour: str) -> None:
        what, device = f"writing the stack light of {light.station}", self.plc.device_id
        try:
            if light.holding_register is not None:
                answer = await client.write_register(light.holding_register, LIGHT_CODES[colour], device_id=device)
                self._check(answer, what)
                return
            assert light.coils is not None
            for lamp, address in light.coils.model_dump().items():
                if address is not None:
                    self._check(await client.write_coil(address, lamp == colour, device_id=device), what)
        except (ModbusException, OSError, TimeoutError) as exc:
            raise DeviceError(f"{self._where()}: {exc}") from exc

    def _check(self, answer: Any, what: str) -> None:
        if answer.isError():
            code = getattr(answer, "exception_code", 0)
            if code in _MAP_ERRORS:
                raise RegisterMapError(f"Modbus exception {code} ({_MAP_ERRORS[code]})")
            raise DeviceError(f"{self._where()}: Modbus exception {code} {what}")

    def _refused(self, request: ReadRequest, reason: str) -> list[ReadRequest]:
        if len(request.points) > 1:
            # Read each point on its own next time, to find which ones the PLC does not have.
            return [single for point in request.points for single in plan_reads([point])]
        point = request.points[0]
        self._out.refused[point.name] = reason
        log.error(
            "PLC %s point %s (%s address %d, %s): %s; check the register map", self.plc.id, point.name,
            point.table, point.modbus_address, point.type, reason,
        )
        return []

    def _value(self, point: Point, request: ReadRequest, answer: list[int] | list[bool]) -> bool | int | float:
        raw = answer[request.slice_of(point)]
        if point.type == "bool":
            return bool(raw[0])
        try:
            number = decode([int(r) for r in raw], point.type, point.order)
        except CodecError as exc:
            raise DeviceError(f"{self._where()}: point {point.name}: {exc}") from exc
        if (point.scale, point.offset) == (1.0, 0.0):
            return number
        return number * point.scale + point.offset

    def _where(self) -> str:
        return _where(self.plc)


def _where(plc: Plc) -> str:
    """The PLC's address, for messages."""
    if plc.serial is not None:
        return f"{plc.serial.port} device {plc.device_id}"
    return f"{plc.host}:{plc.port} device {plc.device_id}"
