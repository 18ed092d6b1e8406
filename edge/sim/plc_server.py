"""A simulated PLC: a real pymodbus TCP server holding the register map of a plant file's PLC.

The simulator writes the points' values into the server's registers, coded as the plant file says (type,
word order, scale); the edge poller reads them over Modbus as it reads a real PLC, and writes the stack
lights back, which `lights()` reads.
"""

from __future__ import annotations

import logging
from ipaddress import ip_address

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from config.floor import LIGHT_CODES, REGISTERS, Plc, Point
from edge.register_codec import encode

log = logging.getLogger(__name__)

_READ = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
_WRITE = {"coil": 15, "discrete": 2, "holding": 16, "input": 4}
"""Function codes for the server's own data store (discrete inputs and input registers are read-only on the
wire, not for the PLC program that sets them)."""
_COLOURS = {code: colour for colour, code in LIGHT_CODES.items()}


def served_here(plc: Plc) -> bool:
    """Whether the simulator can play this PLC: Modbus TCP on a loopback address of this machine."""
    if plc.host is None:
        return False
    if plc.host == "localhost":
        return True
    try:
        return ip_address(plc.host).is_loopback
    except ValueError:
        return False


def _sizes(plc: Plc) -> dict[str, int]:
    """Addresses each table needs: past every point and every stack light output."""
    size = dict.fromkeys(_READ, 1)
    for p in plc.points:
        size[p.table] = max(size[p.table], p.modbus_address + REGISTERS[p.type])
    for light in plc.lights:
        if light.holding_register is not None:
            size["holding"] = max(size["holding"], light.holding_register + 1)
        for address in (light.coils.model_dump().values() if light.coils else ()):
            if address is not None:
                size["coil"] = max(size["coil"], address + 1)
    return size


def _bits(count: int) -> list[SimData]:
    return [SimData(0, values=[False] * count, datatype=DataType.BITS)]


def _words(count: int) -> list[SimData]:
    return [SimData(0, values=[0] * count, datatype=DataType.REGISTERS)]


class SimulatedPlc:
    """One PLC's Modbus TCP server on its configured loopback address and port."""

    def __init__(self, plc: Plc) -> None:
        self.plc = plc
        self._points = {p.name: p for p in plc.points}
        size = _sizes(plc)
        device = SimDevice(plc.device_id, simdata=(
            _bits(size["coil"]), _bits(size["discrete"]), _words(size["holding"]), _words(size["input"]),
        ))
        assert plc.host is not None
        self._server = ModbusTcpServer(device, address=(plc.host, plc.port))

    async def start(self) -> None:
        """Listen; raises OSError when the address cannot be bound (the port is taken)."""
        if not await self._server.listen():  # pymodbus logs the reason and answers False
            raise OSError("the address is in use or not available")
        log.info("simulated PLC %s listening on %s:%d", self.plc.id, self.plc.host, self.plc.port)

    async def stop(self) -> None:
        """Stop listening and drop the connections."""
        await self._server.shutdown()  # type: ignore[no-untyped-call]

    async def set(self, name: str, value: float | bool) -> None:
        """Put a point's value in its registers (or its coil or discrete input), as the PLC program would."""
        point = self._points[name]
        await self._server.context.async_setValues(
            self.plc.device_id, _WRITE[point.table], point.modbus_address, self._raw(point, value)
        )

    @staticmethod
    def _raw(point: Point, value: float | bool) -> list[int] | list[bool]:
        if point.type == "bool":
            return [bool(value)]
        raw = (float(value) - point.offset) / point.scale
        return encode(raw if point.type.startswith("float") else round(raw), point.type, point.order)

    async def lights(self) -> dict[str, str]:
        """What each stack light shows now: `<line>/<station>` → colour, "off" when no lamp is lit."""
        shown: dict[str, str] = {}
        for light in self.plc.lights:
            if light.holding_register is not None:
                code = await self._read("holding", light.holding_register)
                shown[light.station] = _COLOURS.get(int(code), "off")
                continue
            assert light.coils is not None
            lit = [lamp for lamp, address in light.coils.model_dump().items()
                   if address is not None and await self._read("coil", address)]
            shown[light.station] = lit[0] if lit else "off"
        return shown

    async def _read(self, table: str, address: int) -> int | bool:
        values = await self._server.context.async_getValues(self.plc.device_id, _READ[table], address, 1)
        assert isinstance(values, list), values
        return values[0]
