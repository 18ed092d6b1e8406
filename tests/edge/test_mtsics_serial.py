"""An MT-SICS scale on a serial line: a pseudo-terminal stands in for the RS-232 cable."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator

import pytest

from config.floor import ScaleDevice
from edge.mtsics_scale import MtSicsScale


@pytest.fixture
def serial_scale() -> Iterator[str]:
    """A device simulator answering MT-SICS on the far end of a pty; yields the port's path."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    stop = threading.Event()

    def answer() -> None:
        buffer = b""
        while not stop.is_set():
            try:
                buffer += os.read(master, 64)
            except OSError:
                return
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                reply = b"S S     250.00 g" if line.strip() == b"SI" else b"ES"
                os.write(master, reply + b"\r\n")

    thread = threading.Thread(target=answer, name="mt-sics-pty", daemon=True)
    thread.start()
    yield path
    stop.set()
    os.close(master)
    os.close(slave)
    thread.join(5)


def test_weights_over_a_serial_line(serial_scale: str) -> None:
    device = ScaleDevice.model_validate(
        {"bin": "B1", "serial": {"port": serial_scale, "baudrate": 9600, "parity": "N"}, "poll_interval_s": 0.05}
    )
    published: list[tuple[str, dict[str, object]]] = []

    async def run() -> None:
        scale = MtSicsScale(device=device, topic="kanban/t/scale/B1")
        task = asyncio.create_task(scale.run(lambda t, p: published.append((t, json.loads(p)))))
        for _ in range(100):
            if len(published) >= 3:
                break
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run())
    assert len(published) >= 3
    topic, body = published[0]
    assert topic == "kanban/t/scale/B1"
    assert (body["weight_g"], body["stable"]) == (250.0, True)
