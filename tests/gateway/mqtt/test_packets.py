"""The link's packet reader: PUBLISH packets decoded from a byte stream cut anywhere, the rest passed on."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.mqtt.packets import PUBACK_OF_ID, MalformedPacketError, PacketReader

Publish = tuple[str, bytes, int, int]
Other = tuple[int, bytes]


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def publish(topic: str, payload: bytes, qos: int = 1, mid: int = 1, *, properties: bytes | None = None) -> bytes:
    """A PUBLISH packet as MQTT 3.1.1 §3.3 (or MQTT 5 with `properties`) lays it out."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name
    if qos:
        body += mid.to_bytes(2, "big")
    if properties is not None:
        body += remaining_length(len(properties)) + properties
    body += payload
    return bytes((0x30 | qos << 1,)) + remaining_length(len(body)) + body


class Recorder:
    def __init__(self, *, mqtt5: bool = False) -> None:
        self.seen: list[Publish | Other] = []
        self.reader = PacketReader(
            mqtt5=mqtt5,
            on_publish=lambda topic, payload, qos, mid: self.seen.append((topic, payload, qos, mid)),
            on_other=lambda cmd, body: self.seen.append((cmd, body)),
        )


_message = st.tuples(
    st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t),
    st.binary(max_size=300),
    st.integers(0, 1),
    st.integers(1, 65535),
)


@given(st.lists(_message, max_size=20), st.lists(st.integers(0, 10_000), max_size=8))
def test_publishes_and_other_packets_come_out_in_order_however_the_stream_is_cut(
    messages: list[Publish], cuts: list[int]
) -> None:
    stream = b""
    expected: list[Publish | Other] = []
    for topic, payload, qos, mid in messages:
        stream += publish(topic, payload, qos, mid) + b"\xd0\x00"  # each followed by a PINGRESP
        expected += [(topic, payload, qos, mid if qos else 0), (0xD0, b"")]
    recorder = Recorder()
    points = sorted({min(c, len(stream)) for c in cuts} | {0, len(stream)})
    for start, end in itertools.pairwise(points):
        recorder.reader.feed(stream[start:end])
    assert recorder.seen == expected


def test_large_payloads_use_multi_byte_lengths() -> None:
    recorder = Recorder()
    big = bytes(range(256)) * 100  # 25,600 bytes: a three-byte remaining length
    packet = publish("t/big", big, 1, 7)
    for i in range(0, len(packet), 1000):
        recorder.reader.feed(packet[i : i + 1000])
    assert recorder.seen == [("t/big", big, 1, 7)]


def test_mqtt5_properties_are_skipped() -> None:
    recorder = Recorder(mqtt5=True)
    user_property = b"\x26\x00\x01k\x00\x01v"
    stream = publish("t/5", b"{}", 1, 9, properties=user_property) + publish("t/5", b"x", 0, properties=b"")
    recorder.reader.feed(stream)
    assert recorder.seen == [("t/5", b"{}", 1, 9), ("t/5", b"x", 0, 0)]


def test_suback_and_connack_bodies_are_passed_on_whole() -> None:
    recorder = Recorder()
    recorder.reader.feed(b"\x20\x02\x00\x00" + b"\x90\x03\x00\x01\x01")
    assert recorder.seen == [(0x20, b"\x00\x00"), (0x90, b"\x00\x01\x01")]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x36\x05\x00\x01t\x00\x01", id="qos 3"),
        pytest.param(b"\x30\xff\xff\xff\xff\x01", id="five-byte remaining length"),
        pytest.param(b"\x32\x04\x00\x09ab", id="topic longer than the packet"),
        pytest.param(b"\x32\x05\x00\x01t\x00\x00", id="packet id 0"),
        pytest.param(b"\x32\x04\x00\x01t\x00", id="packet id cut short"),
        pytest.param(b"\x30\x04\x00\x02\xff\xfe", id="topic not UTF-8"),
        pytest.param(b"\x30\x01\x00", id="no topic length"),
    ],
)
def test_malformed_publish_is_an_error(data: bytes) -> None:
    with pytest.raises(MalformedPacketError):
        Recorder().reader.feed(data)


def test_mqtt5_publish_without_properties_length_is_an_error() -> None:
    with pytest.raises(MalformedPacketError):
        Recorder(mqtt5=True).reader.feed(publish("t", b"", 1, 1))


def test_puback_packs_header_length_and_packet_id() -> None:
    acks = struct.pack(">2I", PUBACK_OF_ID | 0x1234, PUBACK_OF_ID | 1)
    assert acks == b"\x40\x02\x12\x34\x40\x02\x00\x01"
