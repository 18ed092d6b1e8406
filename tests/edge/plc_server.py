"""A real pymodbus TCP server on loopback acting as the PLC, run on its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from pymodbus.client import ModbusTcpClient
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.conftest import wait_for

REGISTERS = 120  # holding and input registers 0..119, coils and discrete inputs 0..119 (one read each)


class PlcServer:
    """Holding/input registers and coils/discrete inputs 0..119 of device 1; stop and start at will."""

    def __init__(self, port: int, *, device_id: int = 1) -> None:
        self.port = port
        self.device_id = device_id
        # Initial contents; holding registers and coils then change over Modbus (`write`).
        self.holding_registers: list[int] = [0] * REGISTERS
        self.coils: list[bool] = [False] * REGISTERS
        self.input_registers: list[int] = [0] * REGISTERS
        self.discrete_inputs: list[bool] = [False] * REGISTERS
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _device(self) -> SimDevice:
        return SimDevice(
            self.device_id,
            simdata=(
                [SimData(0, values=list(self.coils), datatype=DataType.BITS)],
                [SimData(0, values=list(self.discrete_inputs), datatype=DataType.BITS)],
                [SimData(0, values=list(self.holding_registers), datatype=DataType.REGISTERS)],
                [SimData(0, values=list(self.input_registers), datatype=DataType.REGISTERS)],
            ),
        )

    def start(self) -> None:
        """Listen on the port (again, after `stop`), with the registers as they were."""
        ready = threading.Event()

        async def listen() -> ModbusTcpServer:
            server = ModbusTcpServer(self._device(), address=("127.0.0.1", self.port))
            await server.listen()
            return server

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            server = loop.run_until_complete(listen())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(server.shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"plc-server:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        """Stop answering: the PLC is switched off (its registers are kept for `start`)."""
        if self._loop is None or self._thread is None:
            return
        self.holding_registers = self.read_holding(0, REGISTERS)
        self.coils = self.read_coils(0, REGISTERS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def _client(self) -> ModbusTcpClient:
        client = ModbusTcpClient("127.0.0.1", port=self.port, timeout=2)
        wait_for(client.connect, what="the PLC server to accept connections")
        return client

    def write(self, address: int, registers: Sequence[int]) -> None:
        """Write holding registers over Modbus, as the PLC program would update them."""
        client = self._client()
        try:
            answer = client.write_registers(address, list(registers), device_id=self.device_id)
            assert not answer.isError(), answer
        finally:
            client.close()

    def read_holding(self, address: int, count: int) -> list[int]:
        client = self._client()
        try:
            return list(client.read_holding_registers(address, count=count, device_id=self.device_id).registers)
        finally:
            client.close()

    def read_coils(self, address: int, count: int) -> list[bool]:
        client = self._client()
        try:
            return list(client.read_coils(address, count=count, device_id=self.device_id).bits[:count])
        finally:
            client.close()
