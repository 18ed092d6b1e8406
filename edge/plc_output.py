"""What a PLC's poller publishes, whatever its transport (Modbus, OPC UA): point values and the PLC's status.

Values go out on `<prefix>/plc/<plc>/<point>` as `{"value": ..., "ts": ...}` when they change and at least
every `heartbeat_s`. `<prefix>/plc/<plc>/status` says `{"online": false, "error": ...}` as soon as the PLC
cannot be reached and again every `heartbeat_s` while it stays so (a timer, whatever the reconnection
attempts are doing), and `{"online": true}` once it answers, with the points it refused in `error`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from config.floor import STATUS_POINT, Plc, Point, StackLight
from edge.adapter import Publish
from edge.timestamps import iso

log = logging.getLogger(__name__)


class PlcOutput:
    """One PLC's topics: publishes values by exception with a heartbeat, and the status with its offline timer."""

    def __init__(self, *, plc: Plc, prefix: str, where: str, clock: Callable[[], float] = time.time) -> None:
        self.plc = plc
        self.refused: dict[str, str] = {}  # point → why the PLC refused it, until the next reconnect
        self._base = f"{prefix}/plc/{plc.id}"
        self._where = where
        self._clock = clock
        self._last: dict[str, tuple[Any, float]] = {}  # point → (value, monotonic time it was published)
        self._status: tuple[bool, str, float] | None = None
        self._repeat: asyncio.TimerHandle | None = None  # publishes the offline status again after a heartbeat

    @property
    def online(self) -> bool:
        """Whether the last status published said online."""
        return self._status is not None and self._status[0]

    def value(self, publish: Publish, point: Point, value: bool | int | float) -> None:
        """Publish a point's value if it changed or a heartbeat has passed since it was last published."""
        if isinstance(value, float) and not math.isfinite(value):
            return  # a float holding NaN is not a reading
        now = time.monotonic()
        last = self._last.get(point.name)
        if last is not None and last[0] == value and now - last[1] < self.plc.heartbeat_s:
            return
        self._last[point.name] = (value, now)
        publish(f"{self._base}/{point.name}", json.dumps({"value": value, "ts": iso(self._clock())}).encode())

    def refresh(self, publish: Publish, points: Iterable[Point]) -> None:
        """Publish again the last values of `points` (still current: the PLC reports changes) a heartbeat old."""
        for point in points:
            if (last := self._last.get(point.name)) is not None:
                self.value(publish, point, last[0])

    def report(self, publish: Publish, *, online: bool, error: str = "", repeat: bool = False) -> None:
        """Publish the status when it changed or a heartbeat has passed since it was last published (`repeat`:
        the offline timer's heartbeat is due now)."""
        if self.refused and online:
            error = "; ".join(f"point {name}: {why}" for name, why in sorted(self.refused.items()))
        now = time.monotonic()
        last = self._status
        if not repeat and last is not None and last[:2] == (online, error) and now - last[2] < self.plc.heartbeat_s:
            return
        if online and not self.online:
            log.info("PLC %s online at %s", self.plc.id, self._where)
        elif not online and (last is None or last[0]):
            log.warning("PLC %s offline: %s", self.plc.id, error)
        self._status = (online, error, now)
        self.close()
        if not online:
            # Published again every heartbeat while the PLC stays unreachable, independent of the retries: a wait
            # before the next attempt, or an attempt waiting up to timeout_s for the PLC, does not delay it.
            again = functools.partial(self.report, publish, online=False, error=error, repeat=True)
            self._repeat = asyncio.get_running_loop().call_later(self.plc.heartbeat_s, again)
        body: dict[str, Any] = {"online": online, "ts": iso(self._clock())}
        if error:
            body["error"] = error
        publish(f"{self._base}/{STATUS_POINT}", json.dumps(body).encode())

    def close(self) -> None:
        """Stop the offline status timer."""
        if self._repeat is not None:
            self._repeat.cancel()
            self._repeat = None


class StackLights:
    """The colours a PLC's stack lights should show, and those written to the PLC since it was last connected."""

    def __init__(self, plc: Plc) -> None:
        self._plc = plc.id
        self._lights = {light.station: light for light in plc.lights}
        self._wanted: dict[str, str] = {}  # station → colour its light should show
        self._shown: dict[str, str] = {}  # station → colour written in this session
        self._refused: set[tuple[str, str]] = set()  # (station, colour) writes the PLC refused, logged once

    @property
    def stations(self) -> set[str]:
        """The stations (`<line>/<station>`) whose stack lights this PLC drives."""
        return set(self._lights)

    def want(self, station: str, colour: str) -> None:
        """Show `colour` on the station's stack light, if this PLC drives it."""
        if station in self._lights:
            self._wanted[station] = colour

    def due(self) -> list[tuple[StackLight, str]]:
        """The lights to write, with their colours: those not yet showing what they should."""
        return [(self._lights[s], c) for s, c in list(self._wanted.items()) if self._shown.get(s) != c]

    def written(self, light: StackLight, colour: str) -> None:
        """The PLC took the write."""
        self._shown[light.station] = colour

    def refused_write(self, light: StackLight, colour: str, reason: str) -> None:
        """The PLC refused the write: logged once per station and colour, tried again on the next round."""
        if (light.station, colour) not in self._refused:
            log.error("PLC %s stack light of %s: %s; check the light's outputs", self._plc, light.station, reason)
            self._refused.add((light.station, colour))

    def forget_written(self) -> None:
        """A new connection: the PLC may have restarted with its outputs off, so every light is written again."""
        self._shown.clear()
