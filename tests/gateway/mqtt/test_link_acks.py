"""The link's protocol: PUBLISH packets handled as they arrive, PUBACKs only when acknowledged, one write per
event-loop iteration, in order, and never on a closed connection.

The broker side is the real thing in tests/integration; here the socket is `RecordingTransport`, a
hand-written stand-in that records writes, so that what goes out in which loop iteration can be checked.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from types import SimpleNamespace
from typing import Any

import pytest
from gmqtt.mqtt.constants import MQTTv311
from gmqtt.mqtt.utils import ConnectionState, IdGenerator

from gateway.mqtt.link import Ack, _Protocol


class RecordingTransport:
    """Hand-written stand-in for the socket: records every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


def publish(topic: str, payload: bytes, mid: int) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic.encode() + mid.to_bytes(2, "big") + payload
    return bytes((0x32, len(body))) + body


def puback(*mids: int) -> bytes:
    return b"".join(struct.pack(">BBH", 0x40, 2, mid) for mid in mids)


class Link:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.held: list[Ack] = []
        self.packets: list[tuple[int, bytes]] = []
        state = ConnectionState()
        state.protocol_version = MQTTv311
        self.protocol = _Protocol(handler=self.handle, connection_state=state, id_generator=IdGenerator())
        self.protocol.set_connection(
            SimpleNamespace(put_package=lambda p: self.packets.append((p.cmd, p.data)), _last_data_in=0.0)
        )
        self.transport = RecordingTransport()
        self.protocol.connection_made(self.transport)

    def handle(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        self.messages.append((topic, payload))
        assert ack is not None
        if payload == b"hold":
            self.held.append(ack)
        else:
            ack()

    def close(self) -> None:
        self.protocol._read_loop_future.cancel()


def test_pubacks_of_one_loop_iteration_go_out_in_one_write_in_order_and_held_ones_later() -> None:
    async def scenario() -> None:
        link = Link()
        link.protocol.data_received(publish("t/a", b"1", 1) + publish("t/b", b"hold", 2) + publish("t/c", b"3", 3))
        assert link.messages == [("t/a", b"1"), ("t/b", b"hold"), ("t/c", b"3")]
        assert link.transport.writes == []  # nothing before the end of the loop iteration
        await asyncio.sleep(0)
        assert link.transport.writes == [puback(1, 3)]
        link.held.pop()()
        await asyncio.sleep(0)
        assert link.transport.writes == [puback(1, 3), puback(2)]
        link.close()

    asyncio.run(scenario())


def test_no_puback_on_a_connection_that_closed_before_the_acknowledgement() -> None:
    async def scenario() -> None:
        link = Link()
        link.protocol.data_received(publish("t/a", b"hold", 7))
        link.transport.close()
        link.held.pop()()
        await asyncio.sleep(0)
        assert link.transport.writes == []
        link.close()

    asyncio.run(scenario())


def test_a_packet_split_across_reads_and_other_packets_reach_gmqtt() -> None:
    async def scenario() -> None:
        link = Link()
        data = b"\x90\x03\x00\x01\x01" + publish("t/a", b"12345", 9)  # SUBACK, then a PUBLISH
        link.protocol.data_received(data[:9])
        assert link.packets == [(0x90, b"\x00\x01\x01")]
        assert link.messages == []
        link.protocol.data_received(data[9:])
        assert link.messages == [("t/a", b"12345")]
        link.close()

    asyncio.run(scenario())


def test_bytes_that_are_not_mqtt_close_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        link = Link()
        with caplog.at_level(logging.ERROR, logger="gateway.mqtt.link"):
            link.protocol.data_received(b"\x36\x05\x00\x01t\x00\x01")  # QoS 3
        assert link.transport.closed
        assert "closing the broker connection" in caplog.text
        link.close()

    asyncio.run(scenario())
