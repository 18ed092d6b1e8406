"""The poller's status topic while its PLC cannot be reached: offline again every heartbeat, whatever the retries."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest

from config.floor import Plc
from edge.modbus_poller import ModbusPoller
from tests.conftest import free_port

HEARTBEAT_S = 0.5
TOLERANCE_S = 0.15


def plc(port: int, **settings: object) -> Plc:
    return Plc.model_validate({
        "id": "plc1", "host": "127.0.0.1", "port": port, "heartbeat_s": HEARTBEAT_S, "poll_interval_s": 0.1,
        "points": [{"name": "count", "address": 0, "type": "uint16"}], **settings,
    })


Statuses = list[tuple[float, dict[str, object]]]


async def offline_statuses(poller: ModbusPoller, count: int, timeout_s: float = 15.0) -> Statuses:
    """Run the poller until it has published `count` statuses; their arrival times and bodies."""
    statuses: Statuses = []
    enough = asyncio.Event()

    def publish(topic: str, payload: bytes) -> None:
        assert topic == "kanban/t/plc/plc1/status"  # the PLC never answers: no values
        statuses.append((time.monotonic(), json.loads(payload)))
        if len(statuses) >= count:
            enough.set()

    task = asyncio.create_task(poller.run(publish))
    try:
        await asyncio.wait_for(enough.wait(), timeout_s)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return statuses


def assert_every_heartbeat(statuses: Statuses) -> None:
    assert all(body["online"] is False for _, body in statuses)
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(statuses)]
    assert all(HEARTBEAT_S - 0.01 <= gap <= HEARTBEAT_S + TOLERANCE_S for gap in gaps), gaps


@pytest.mark.parametrize("retry_s", [0.49, 0.3, 0.2])
def test_offline_is_published_every_heartbeat_whatever_the_retry_delay(retry_s: float) -> None:
    # A retry cap below backoff's 0.5 s floor makes every wait exactly `retry_s`: with retries at 0.49 s, a
    # status sent only when a retry fails would go out at 0.98 s, twice the heartbeat.
    poller = ModbusPoller(plc=plc(free_port()), prefix="kanban/t", reconnect_max_s=retry_s)  # nothing listens there
    statuses = asyncio.run(offline_statuses(poller, count=5))
    assert "cannot connect to 127.0.0.1" in str(statuses[0][1]["error"])
    assert_every_heartbeat(statuses)


def test_offline_is_published_every_heartbeat_while_each_attempt_waits_for_a_silent_plc() -> None:
    """A PLC that takes the connection but never answers: each attempt lasts `timeout_s`, longer than a heartbeat."""

    async def scenario() -> Statuses:
        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # reads requests until the poller hangs up, answers none
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            poller = ModbusPoller(plc=plc(port, timeout_s=0.8), prefix="kanban/t", reconnect_max_s=0.3)
            return await offline_statuses(poller, count=5)
        finally:
            server.close()
            await server.wait_closed()

    statuses = asyncio.run(scenario())
    assert_every_heartbeat(statuses)


def test_nothing_is_published_once_the_poller_is_cancelled() -> None:
    async def scenario() -> tuple[int, int]:
        poller = ModbusPoller(plc=plc(free_port()), prefix="kanban/t", reconnect_max_s=0.3)
        statuses = await offline_statuses(poller, count=2)  # the second one came from the heartbeat timer
        stopped = len(statuses)
        await asyncio.sleep(2 * HEARTBEAT_S)  # a timer left behind would publish within this
        return stopped, len(statuses)

    stopped, later = asyncio.run(scenario())
    assert later == stopped
