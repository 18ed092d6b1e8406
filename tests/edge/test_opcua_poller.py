"""The OPC UA poller against a real asyncua server on loopback: what it publishes, and what it reports."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator

import pytest
from asyncua import ua
from asyncua.server.internal_session import InternalSession
from asyncua.ua.uaerrors import BadServiceUnsupported

from config.floor import Plc, Point
from edge.opcua_poller import OpcUaPoller, ValueRefused, reading
from tests.conftest import free_port
from tests.edge.opcua_server import OpcUaServer

U16, DOUBLE = ua.VariantType.UInt16, ua.VariantType.Double


@pytest.fixture(scope="module")
def server() -> Iterator[OpcUaServer]:
    variables = {
        "Count": (7, U16), "Temp": (21.5, DOUBLE), "Speed": (0.5, DOUBLE), "Running": (True, ua.VariantType.Boolean)
    }
    plc = OpcUaServer(free_port(), variables)
    plc.start()
    yield plc
    plc.stop()


def plc_of(endpoint: str, *points: dict[str, object], **settings: object) -> Plc:
    return Plc.model_validate({
        "id": "p1", "opcua": {"endpoint": endpoint}, "poll_interval_s": 0.1, "heartbeat_s": 0.5, "timeout_s": 0.5,
        "points": list(points), **settings,
    })


COUNT = {"name": "count", "node": "ns=2;s=Count", "type": "uint16", "counter": {}}

Message = tuple[float, str, dict[str, object]]


async def run_until(
    poller: OpcUaPoller, done: Callable[[list[Message]], bool], timeout_s: float = 20.0
) -> list[Message]:
    """Run the poller until `done(messages)`; every message with its arrival time, point name and body."""
    messages: list[Message] = []
    enough = asyncio.Event()

    def publish(topic: str, payload: bytes) -> None:
        assert topic.startswith("kanban/t/plc/p1/")
        messages.append((time.monotonic(), topic.rsplit("/", 1)[1], json.loads(payload)))
        if done(messages):
            enough.set()

    task = asyncio.create_task(poller.run(publish))
    try:
        await asyncio.wait_for(enough.wait(), timeout_s)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return messages


def values(messages: list[Message], name: str) -> list[object]:
    return [body["value"] for _, point, body in messages if point == name]


def test_points_are_published_and_refused_ones_named(server: OpcUaServer) -> None:
    plc = plc_of(
        server.endpoint, COUNT,
        {"name": "temp", "node": "ns=2;s=Temp", "type": "float64", "scale": 2, "offset": 1},
        {"name": "running", "node": "ns=2;s=Running", "type": "bool"},
        {"name": "wrong_type", "node": "ns=2;s=Speed", "type": "uint16"},
        {"name": "missing", "node": "ns=2;s=NoSuchNode", "type": "uint16"},
    )
    poller = OpcUaPoller(plc=plc, prefix="kanban/t")
    def done(messages: list[Message]) -> bool:
        return {point for _, point, _ in messages} == {"count", "temp", "running", "status"}

    messages = asyncio.run(run_until(poller, done))
    assert (values(messages, "count"), values(messages, "temp"), values(messages, "running")) == ([7], [44.0], [True])
    [(_, _, status)] = [m for m in messages if m[1] == "status"]
    assert status["online"] is True
    assert status["error"] == (
        "point missing: the server has no such variable (BadNodeIdUnknown); "
        "point wrong_type: the node's data type is Double; the point's type needs UInt16"
    )


def test_changes_arrive_by_subscription_and_values_repeat_every_heartbeat(server: OpcUaServer) -> None:
    poller = OpcUaPoller(plc=plc_of(server.endpoint, COUNT), prefix="kanban/t")

    async def scenario() -> list[Message]:
        changed = False

        def done(messages: list[Message]) -> bool:
            nonlocal changed
            if not changed and values(messages, "count"):
                changed = True
                asyncio.get_running_loop().run_in_executor(None, server.set, "Count", 8)
            return values(messages, "count")[-3:] == [8, 8, 8]

        return await run_until(poller, done)

    try:
        messages = asyncio.run(scenario())
    finally:
        server.set("Count", 7)
    counts = [(at, body["value"]) for at, point, body in messages if point == "count"]
    assert [value for _, value in counts] == [7, 8, 8, 8]
    repeats = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(counts[1:])]
    assert all(0.45 <= gap <= 0.8 for gap in repeats), repeats  # the heartbeat: 0.5 s


def test_a_value_of_bad_quality_is_not_published_and_is_reported_until_a_good_one(server: OpcUaServer) -> None:
    poller = OpcUaPoller(plc=plc_of(server.endpoint, COUNT), prefix="kanban/t")

    async def scenario() -> list[Message]:
        step = 0

        def done(messages: list[Message]) -> bool:
            nonlocal step
            statuses = [body for _, point, body in messages if point == "status"]
            if step == 0 and statuses:
                step = 1
                bad = ua.StatusCodes.BadSensorFailure
                asyncio.get_running_loop().run_in_executor(None, server.set, "Count", 9, bad)
            elif step == 1 and "error" in statuses[-1]:
                step = 2
                asyncio.get_running_loop().run_in_executor(None, server.set, "Count", 10)
            return step == 2 and values(messages, "count")[-1:] == [10]

        return await run_until(poller, done)

    try:
        messages = asyncio.run(scenario())
    finally:
        server.set("Count", 7)
    assert 9 not in values(messages, "count")
    errors = [body.get("error") for _, point, body in messages if point == "status"]
    assert "point count: no good value: BadSensorFailure" in errors
    later = asyncio.run(run_until(poller, lambda m: any(point == "status" for _, point, _ in m)))
    assert next(body for _, point, body in later if point == "status").get("error") is None


def test_a_server_without_subscriptions_is_read_every_poll(
    server: OpcUaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refuse(*args: object, **kwargs: object) -> None:
        raise BadServiceUnsupported

    monkeypatch.setattr(InternalSession, "create_subscription", refuse)  # a small server without the service
    poller = OpcUaPoller(plc=plc_of(server.endpoint, COUNT), prefix="kanban/t")

    async def scenario() -> list[Message]:
        changed = False

        def done(messages: list[Message]) -> bool:
            nonlocal changed
            if not changed and values(messages, "count"):
                changed = True
                asyncio.get_running_loop().run_in_executor(None, server.set, "Count", 11)
            return values(messages, "count")[-1:] == [11]

        return await run_until(poller, done)

    try:
        messages = asyncio.run(scenario())
    finally:
        server.set("Count", 7)
    assert values(messages, "count") == [7, 11]


def test_offline_is_published_every_heartbeat_while_nothing_listens() -> None:
    nobody = f"opc.tcp://127.0.0.1:{free_port()}"
    poller = OpcUaPoller(plc=plc_of(nobody, COUNT), prefix="kanban/t", reconnect_max_s=0.3)
    messages = asyncio.run(run_until(poller, lambda m: len(m) >= 4))
    assert [point for _, point, _ in messages] == ["status"] * 4
    assert all(body["online"] is False for _, _, body in messages)
    assert "cannot connect to opc.tcp://127.0.0.1:" in str(messages[0][2]["error"])
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(messages)]
    assert all(0.49 <= gap <= 0.65 for gap in gaps), gaps


def point(**fields: object) -> Point:
    return Point.model_validate({"name": "p", "node": "ns=2;i=1", **fields})


@pytest.mark.parametrize(
    ("fields", "value", "published"),
    [
        ({"type": "uint16"}, 65535, 65535),
        ({"type": "int16"}, -32768, -32768),
        ({"type": "float32", "scale": 0.5, "offset": 1}, 3, 2.5),
        ({"type": "bool"}, False, False),
        ({"type": "uint64"}, 2**64 - 1, 2**64 - 1),
    ],
)
def test_reading_gives_the_points_value(fields: dict[str, object], value: object, published: object) -> None:
    assert reading(point(**fields), value) == published


@pytest.mark.parametrize(
    ("type_", "value", "reason"),
    [
        ("uint16", 65536, "the node gives 65536, not a uint16"),
        ("uint16", -1, "the node gives -1, not a uint16"),
        ("int32", 1.5, "the node gives 1.5, not a int32"),
        ("uint32", True, "the node gives bool True, not a number"),
        ("float64", "12", "the node gives str '12', not a number"),
        ("bool", 1, "the node gives int 1, not a bool"),
        ("uint16", None, "the node gives NoneType None, not a number"),
    ],
)
def test_reading_refuses_what_the_type_cannot_hold(type_: str, value: object, reason: str) -> None:
    with pytest.raises(ValueRefused, match=reason):
        reading(point(type=type_), value)
