"""MQTT packet framing and PUBLISH decoding. Pure: bytes in, callbacks out.

The link decodes incoming PUBLISH packets itself (MQTT 3.1.1 §3.3, MQTT 5 §3.3) and leaves every other
packet to gmqtt; gmqtt's own per-message path costs more than the whole rules step (docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Callable

PUBLISH = 0x30
PUBACK_OF_ID = 0x4002 << 16
"""A PUBACK is `PUBACK_OF_ID | packet id` packed as a big-endian 32-bit number: header, length 2, packet id."""

PublishSink = Callable[[str, bytes, int, int], None]
"""Called with (topic, payload, qos, packet id; 0 at QoS 0) for every PUBLISH."""
PacketSink = Callable[[int, bytes], None]
"""Called with (first header byte, rest of the packet after the length) for every other packet."""


class MalformedPacketError(ValueError):
    """The bytes are not MQTT: the connection must be closed (MQTT 3.1.1 §4.8)."""


class PacketReader:
    """Reassembles packets split across reads and hands each complete one to the sinks."""

    def __init__(self, *, mqtt5: bool, on_publish: PublishSink, on_other: PacketSink) -> None:
        self._mqtt5 = mqtt5
        self._on_publish = on_publish
        self._on_other = on_other
        self._rest = bytearray()  # the start of a packet not yet complete

    def feed(self, data: bytes) -> None:
        """Handle every packet completed by `data`; raises `MalformedPacketError` on bytes that are not MQTT."""
        buffer: bytes | bytearray = data
        if self._rest:
            self._rest += data
            buffer = self._rest
        used = read_packets(buffer, mqtt5=self._mqtt5, on_publish=self._on_publish, on_other=self._on_other)
        if buffer is self._rest:
            del self._rest[:used]
        elif used < len(data):
            self._rest = bytearray(memoryview(data)[used:])


def read_packets(data: bytes | bytearray, *, mqtt5: bool, on_publish: PublishSink, on_other: PacketSink) -> int:
    """Decode the complete packets at the start of `data`; returns how many bytes they took.

    The bytes after that are the beginning of an incomplete packet, to be read again with what follows.
    """
    size = len(data)
    pos = 0
    while size - pos >= 2:
        length = data[pos + 1]
        body = pos + 2
        if length & 0x80:
            length, body = _long_length(data, pos + 1, size)
            if body < 0:
                break
        end = body + length
        if end > size:
            break
        cmd = data[pos]
        pos = end
        if cmd & 0xF0 != PUBLISH:
            on_other(cmd, bytes(data[body:end]))
            continue
        # PUBLISH, inline: this loop runs once per reading.
        qos = (cmd >> 1) & 3
        if qos == 3 or end - body < 2:
            raise MalformedPacketError("PUBLISH with QoS 3 or without a topic")
        topic_end = body + 2 + ((data[body] << 8) | data[body + 1])
        at = topic_end
        mid = 0
        if qos:
            mid = (data[at] << 8) | data[at + 1] if at + 2 <= end else 0
            if mid == 0:
                raise MalformedPacketError("PUBLISH without a packet id, or with packet id 0")
            at += 2
        if mqtt5:
            properties, at = _long_length(data, at, end)
            if at < 0:
                raise MalformedPacketError("PUBLISH without its properties length")
            at += properties
        if at > end:
            raise MalformedPacketError("PUBLISH shorter than its topic and properties")
        try:
            topic = data[body + 2 : topic_end].decode()
        except UnicodeDecodeError as exc:
            raise MalformedPacketError("PUBLISH topic is not UTF-8") from exc
        on_publish(topic, bytes(data[at:end]), qos, mid)
    return pos


def _long_length(data: bytes | bytearray, pos: int, limit: int) -> tuple[int, int]:
    """The variable byte integer at `pos` and the position after it; (0, -1) when it runs past `limit`."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= limit:
            return 0, -1
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    raise MalformedPacketError("variable byte integer longer than four bytes")
