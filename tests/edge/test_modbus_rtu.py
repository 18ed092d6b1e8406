"""The poller over Modbus RTU: a real pymodbus serial server at the other end of a null-modem pty pair."""

from __future__ import annotations

import asyncio
import json
import os
import select
import threading
from collections.abc import Iterator

import pytest
from pymodbus.server import ModbusSerialServer
from pymodbus.simulator import DataType, SimData, SimDevice

from config.floor import Plc
from edge.modbus_poller import ModbusPoller
from edge.register_codec import encode


@pytest.fixture
def null_modem() -> Iterator[tuple[str, str]]:
    """Two serial ports wired to each other: two ptys with a thread copying bytes between their far ends."""
    a_master, a_port = os.openpty()
    b_master, b_port = os.openpty()
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([a_master, b_master], [], [], 0.1)
            for fd in ready:
                try:
                    os.write(b_master if fd == a_master else a_master, os.read(fd, 1024))
                except OSError:  # a side hung up: the cable is unplugged
                    return

    thread = threading.Thread(target=pump, name="null-modem", daemon=True)
    thread.start()
    yield os.ttyname(a_port), os.ttyname(b_port)
    stop.set()
    thread.join(5)
    for fd in (a_master, a_port, b_master, b_port):
        os.close(fd)


def test_poller_reads_a_plc_over_rtu(null_modem: tuple[str, str]) -> None:
    server_port, client_port = null_modem
    registers = [0] * 20
    registers[4:6] = encode(123456, "uint32", "CDAB")
    bits = SimData(0, values=[False] * 20, datatype=DataType.BITS)
    device = SimDevice(7, simdata=([bits], [bits], [SimData(0, values=registers, datatype=DataType.REGISTERS)],
                                   [SimData(0, values=[0] * 20, datatype=DataType.REGISTERS)]))
    # Parity N: a pty cannot do even parity, a real RS-485 line usually does (the default, E).
    plc = Plc.model_validate({
        "id": "rtu1", "serial": {"port": client_port, "baudrate": 19200, "parity": "N"}, "device_id": 7,
        "poll_interval_s": 0.1, "points": [{"name": "count", "address": 4, "type": "uint32", "order": "CDAB"}],
    })
    published: dict[str, dict[str, object]] = {}

    async def run() -> None:
        server = ModbusSerialServer(device, port=server_port, baudrate=19200, parity="N")
        await server.listen()
        poller = ModbusPoller(plc=plc, prefix="kanban/t")
        task = asyncio.create_task(poller.run(lambda t, p: published.update({t: json.loads(p)})))
        for _ in range(200):
            if "kanban/t/plc/rtu1/count" in published:
                break
            await asyncio.sleep(0.05)
        task.cancel()
        await server.shutdown()

    asyncio.run(run())
    assert published["kanban/t/plc/rtu1/count"]["value"] == 123456
    assert published["kanban/t/plc/rtu1/status"]["online"] is True
