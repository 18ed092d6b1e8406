"""A minimal MQTT 3.1.1 client for the benchmark's own processes: pre-encoded packets, nothing per message.

The publisher and the count-only subscriber must not be the bottleneck, so they write pre-built packets
and read with the same packet reader as the service (`gateway/mqtt/packets.py`). Clean sessions only; no
reconnects: a benchmark run that loses its broker fails.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable

from gateway.mqtt.packets import PUBACK_OF_ID, PacketReader

CONNACK, SUBACK, PUBACK = 0x20, 0x90, 0x40
WINDOW = 20_000  # unacknowledged QoS 1 publishes allowed in flight (packet ids wrap at 65,535)


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def publish_packet(topic: str, payload: bytes, *, qos: int, mid: int) -> bytes:
    """One PUBLISH packet; `mid` is ignored at QoS 0."""
    body = _string(topic) + (mid.to_bytes(2, "big") if qos else b"") + payload
    return bytes((0x30 | qos << 1,)) + _length(len(body)) + body


class RawClient(asyncio.Protocol):
    """One connection: publishes pre-built packets, counts PUBACKs, hands incoming PUBLISHes to `on_message`."""

    def __init__(self, on_message: Callable[[str, bytes], None] | None = None) -> None:
        self._on_message = on_message
        self._reader = PacketReader(mqtt5=False, on_publish=self._publish, on_other=self._other)
        self._transport: asyncio.Transport | None = None
        self._connack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._suback: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._progress = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._acks: list[int] = []
        self.acked = 0  # PUBACKs received for our publishes
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def connect(
        cls, port: int, client_id: str, on_message: Callable[[str, bytes], None] | None = None
    ) -> RawClient:
        """Open a clean session on 127.0.0.1:`port`."""
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(on_message), "127.0.0.1", port)
        variable = _string("MQTT") + bytes((4, 0x02)) + (60).to_bytes(2, "big")  # 3.1.1, clean, keepalive 60
        body = variable + _string(client_id)
        client.write(bytes((0x10,)) + _length(len(body)) + body)
        await asyncio.wait_for(client._connack, timeout=10)
        return client

    async def subscribe(self, topic: str, qos: int) -> None:
        """Subscribe and wait for the SUBACK."""
        body = (1).to_bytes(2, "big") + _string(topic) + bytes((qos,))
        self.write(bytes((0x82,)) + _length(len(body)) + body)
        await asyncio.wait_for(self._suback, timeout=10)

    def write(self, data: bytes) -> None:
        """Send bytes already encoded as packets."""
        assert self._transport is not None
        self._transport.write(data)

    async def drain(self) -> None:
        """Until the socket takes more (asyncio's flow control), and at least one loop iteration."""
        await asyncio.sleep(0)
        await self._writable.wait()

    async def wait_acked(self, count: int) -> None:
        """Until `count` PUBACKs have come back in all."""
        while self.acked < count:
            self._progress.clear()
            await self._progress.wait()

    def close(self) -> None:
        """Send DISCONNECT and close."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"\xe0\x00")
            self._transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._progress.set()

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)

    def _publish(self, topic: str, payload: bytes, qos: int, mid: int) -> None:
        if self._on_message is not None:
            self._on_message(topic, payload)
        if qos:
            if not self._acks:
                asyncio.get_running_loop().call_soon(self._send_acks)
            self._acks.append(PUBACK_OF_ID | mid)

    def _send_acks(self) -> None:
        acks, self._acks = self._acks, []
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(struct.pack(f">{len(acks)}I", *acks))

    def _other(self, cmd: int, body: bytes) -> None:
        kind = cmd & 0xF0
        if kind == PUBACK:
            self.acked += 1
            self._progress.set()
        elif kind == CONNACK and not self._connack.done():
            if body[1:2] == b"\x00":
                self._connack.set_result(None)
            else:
                self._connack.set_exception(ConnectionError(f"broker refused the connection: {body!r}"))
        elif kind == SUBACK and not self._suback.done():
            self._suback.set_result(None)


async def send_chunks(
    port: int, client_id: str, chunks: list[bytes], *, per_chunk: int, count: int, qos: int = 1, rate: float = 0.0
) -> dict[str, float | int]:
    """Write pre-built PUBLISH packets, `per_chunk` to a chunk: as fast as the broker takes them (QoS 1: at
    most WINDOW unacknowledged) or, with `rate`, each chunk at its share of the schedule. Waits for every
    PUBACK at QoS 1; returns {"published", "start", "end"} (epoch seconds)."""
    client = await RawClient.connect(port, client_id)
    loop = asyncio.get_running_loop()
    start = time.time()
    t0 = loop.time()
    sent = 0
    for n, chunk in enumerate(chunks):
        if rate:
            due = t0 + n * per_chunk / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
        client.write(chunk)
        sent = min(sent + per_chunk, count)
        if qos:
            await client.wait_acked(sent - WINDOW)
        else:
            await client.drain()
    if qos:
        await asyncio.wait_for(client.wait_acked(count), timeout=120)
    end = time.time()
    client.close()
    return {"published": count, "start": start, "end": end}
