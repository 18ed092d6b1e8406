"""One task per MT-SICS scale: asks for the weight every poll interval and publishes it on its bin's topic.

Weights go out as `{"weight_g": ..., "stable": ..., "ts": ...}` (the gateway counts only stable readings
toward a signal). A condition (busy, overload, underload, a command error) publishes nothing and is logged
when it begins and ends; a scale that does not answer is reconnected with backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

import serial

from config.floor import ScaleDevice
from edge.adapter import Publish
from edge.mqtt_link import backoff_s
from edge.mtsics import Condition, parse_reply
from edge.timestamps import iso

log = logging.getLogger(__name__)

_MAX_REPLY_BYTES = 256


class ScaleLink(Protocol):
    """A connection to a scale: one command, one reply line."""

    async def exchange(self, command: bytes) -> bytes:
        """Send a command and return the reply line; `OSError` or `TimeoutError` when the scale is gone."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class TcpLink:
    """MT-SICS over TCP (an Ethernet interface or a serial-to-Ethernet converter)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout_s: float) -> None:
        self._reader, self._writer, self._timeout_s = reader, writer, timeout_s

    @classmethod
    async def open(cls, host: str, port: int, timeout_s: float) -> TcpLink:
        """Connect, or raise `OSError` / `TimeoutError`."""
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, timeout_s)

    async def exchange(self, command: bytes) -> bytes:
        """Send a command and return the reply line."""
        self._writer.write(command)
        await self._writer.drain()
        async with asyncio.timeout(self._timeout_s):
            line = await self._reader.readline()
        if not line.endswith(b"\n"):
            raise ConnectionResetError("the scale closed the connection")
        return line

    def close(self) -> None:
        """Close the socket."""
        self._writer.close()


class SerialLink:
    """MT-SICS over RS-232; pyserial's blocking calls run on a worker thread."""

    def __init__(self, port: serial.Serial) -> None:
        self._port = port

    @classmethod
    async def open(cls, device: ScaleDevice) -> SerialLink:
        """Open the serial port, or raise `OSError`."""
        s = device.serial
        assert s is not None
        try:
            port = await asyncio.to_thread(
                serial.Serial, s.port, baudrate=s.baudrate, parity=s.parity, stopbits=s.stopbits,
                bytesize=s.bytesize, timeout=device.timeout_s,
            )
        except serial.SerialException as exc:
            raise OSError(str(exc)) from exc
        return cls(port)

    async def exchange(self, command: bytes) -> bytes:
        """Send a command and return the reply line."""
        line = await asyncio.to_thread(self._exchange, command)
        if not line.endswith(b"\n"):
            raise TimeoutError("no reply from the scale")
        return line

    def _exchange(self, command: bytes) -> bytes:
        try:
            self._port.reset_input_buffer()
            self._port.write(command)
            return bytes(self._port.readline(_MAX_REPLY_BYTES))
        except serial.SerialException as exc:
            raise OSError(str(exc)) from exc

    def close(self) -> None:
        """Close the port."""
        self._port.close()


class MtSicsScale:
    """Owns one scale's connection: poll, publish weights, log conditions, reconnect with backoff."""

    def __init__(
        self, *, device: ScaleDevice, topic: str, clock: Callable[[], float] = time.time, reconnect_max_s: float = 30.0
    ) -> None:
        self.device = device
        self.name = f"mt-sics[{device.bin}]"
        self._topic = topic
        self._clock = clock
        self._reconnect_max_s = reconnect_max_s
        self._condition: str | None = None

    async def run(self, publish: Publish) -> None:
        """Poll until cancelled."""
        attempt = 0
        while True:
            try:
                link = await self._open()
            except (OSError, TimeoutError) as exc:
                log.warning("scale of bin %s unreachable at %s: %s", self.device.bin, self._where(), exc)
            else:
                try:
                    await self._poll(link, publish)
                except (OSError, TimeoutError) as exc:
                    log.warning("scale of bin %s lost at %s: %s", self.device.bin, self._where(), exc)
                    attempt = 0
                finally:
                    link.close()
            await asyncio.sleep(backoff_s(attempt, self._reconnect_max_s))
            attempt += 1

    async def _open(self) -> ScaleLink:
        d = self.device
        if d.serial is not None:
            return await SerialLink.open(d)
        assert d.host is not None
        assert d.port is not None
        return await TcpLink.open(d.host, d.port, d.timeout_s)

    async def _poll(self, link: ScaleLink, publish: Publish) -> None:
        command = f"{self.device.command}\r\n".encode("ascii")
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            reply = parse_reply(await link.exchange(command))
            if isinstance(reply, Condition):
                self._enter(reply)
            else:
                self._enter(None)
                body = {"weight_g": round(reply.grams, 6), "stable": reply.stable, "ts": iso(self._clock())}
                publish(self._topic, json.dumps(body).encode())
            await asyncio.sleep(max(0.0, started + self.device.poll_interval_s - loop.time()))

    def _enter(self, condition: Condition | None) -> None:
        state = condition.state if condition is not None else None
        if state == self._condition:
            return
        if condition is not None:
            log.warning("scale of bin %s: %s (%s)", self.device.bin, condition.state, condition.detail)
        else:
            log.info("scale of bin %s: weighing again after %s", self.device.bin, self._condition)
        self._condition = state

    def _where(self) -> str:
        d = self.device
        return d.serial.port if d.serial is not None else f"{d.host}:{d.port}"
