"""What every PLC poller does, whatever its transport (Modbus, OPC UA): one connection at a time, a session on it
until it fails, the PLC's status and values through `PlcOutput`, its stack lights through `StackLights`, and a
new connection after a backoff. A transport connects (`_open`), runs a session (`_session`) and closes
(`_close`); it raises `DeviceError` when the PLC is gone, and sets `_answered` once a session got answers."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Generic, TypeVar

from config.floor import Plc
from edge.adapter import Publish, stop_if_cancelled
from edge.mqtt_link import backoff_s
from edge.plc_output import PlcOutput, StackLights

C = TypeVar("C")


class DeviceError(Exception):
    """The PLC cannot be reached, refuses the connection, or stops answering."""


class PlcPoller(ABC, Generic[C]):
    """Owns one PLC's connection (a client of type C): connect, run a session, reconnect with backoff."""

    def __init__(
        self, *, plc: Plc, kind: str, where: str, prefix: str, clock: Callable[[], float] = time.time,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.plc = plc
        self.name = f"{kind}[{plc.id}]"
        self._out = PlcOutput(plc=plc, prefix=prefix, where=where, clock=clock)
        self._lights = StackLights(plc)
        self._reconnect_max_s = reconnect_max_s
        self._answered = False  # whether the current session got answers: the next failure starts a new backoff

    @property
    def stations(self) -> set[str]:
        """The stations (`<line>/<station>`) whose stack lights this PLC drives."""
        return self._lights.stations

    def light(self, station: str, colour: str) -> None:
        """Show `colour` on the station's stack light (written by the running session)."""
        self._lights.want(station, colour)

    async def run(self, publish: Publish) -> None:
        """Read the PLC until cancelled."""
        attempt = 0
        try:
            while True:
                stop_if_cancelled()
                client = self._open()
                try:
                    self._answered = False
                    self._out.refused.clear()
                    self._lights.forget_written()
                    await self._session(client, publish)
                except DeviceError as exc:
                    self._out.report(publish, online=False, error=str(exc))
                    attempt = 0 if self._answered else attempt + 1
                finally:
                    await self._close(client)
                await asyncio.sleep(backoff_s(attempt, min(self._reconnect_max_s, self.plc.heartbeat_s)))
        finally:
            self._out.close()

    @abstractmethod
    def _open(self) -> C:
        """A client for one connection attempt."""

    @abstractmethod
    async def _session(self, client: C, publish: Publish) -> None:
        """Connect and read the PLC until the connection fails (`DeviceError`)."""

    @abstractmethod
    async def _close(self, client: C) -> None:
        """Close what `_session` opened, whatever state it is in."""
