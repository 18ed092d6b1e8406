"""The service's broker connection: persistent session, QoS 1, acknowledgements sent when we say so.

gmqtt was chosen for throughput (docs/DESIGN.md) and keeps the session: connect, subscribe, keepalive,
reconnect with backoff, resending our own QoS 1 publishes. Incoming PUBLISH packets are decoded here instead
(`gateway/mqtt_packets.py`), straight from the socket's data: the handler runs synchronously for each one
and, for QoS 1, gets a callable that acknowledges it, which the committer invokes once the message's effects
are durable. The PUBACKs called for in one event-loop iteration go out in one write.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import struct
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import gmqtt
from gmqtt.mqtt.connection import MQTTConnection
from gmqtt.mqtt.constants import MQTTv50, MQTTv311
from gmqtt.mqtt.package import Package
from gmqtt.mqtt.protocol import MQTTProtocol

from config.service import MqttConfig
from gateway.mqtt_packets import PUBACK_OF_ID, MalformedPacketError, PacketReader

log = logging.getLogger(__name__)

Ack = Callable[[], None]
"""Sends the PUBACK of one QoS 1 message."""
Handler = Callable[[str, bytes, Ack | None], None]
"""Called for every message with its topic, payload and, for QoS 1, the function that acknowledges it."""


def backoff_s(attempt: int, cap_s: float) -> float:
    """Capped exponential backoff with jitter, as aiomqtt does it."""
    return min(cap_s, random.uniform(0.5, 1.5 ** min(10, attempt + 1)))


class _Protocol(MQTTProtocol):  # type: ignore[misc]
    """gmqtt's protocol, except that PUBLISH packets are decoded and handled as the bytes arrive."""

    def __init__(self, *args: Any, handler: Handler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handler = handler
        self._reader = PacketReader(mqtt5=self.proto_ver == MQTTv50, on_publish=self._publish, on_other=self._other)
        self._acks: list[int] = []  # PUBACKs to send at the end of this event-loop iteration

    def data_received(self, data: bytes) -> None:
        """Handle every complete packet; gmqtt's stream reader gets nothing but the end of the stream."""
        try:
            self._reader.feed(data)
        except MalformedPacketError as exc:
            log.error("closing the broker connection: %s", exc)
            self._transport.close()
            return
        self._connection._last_data_in = time.monotonic()  # for gmqtt's keepalive

    def _publish(self, topic: str, payload: bytes, qos: int, mid: int) -> None:
        self._handler(topic, payload, partial(self._ack, mid) if qos else None)

    def _other(self, cmd: int, body: bytes) -> None:
        self._connection.put_package(Package(cmd, body))

    def _ack(self, mid: int) -> None:
        if not self._acks:
            asyncio.get_running_loop().call_soon(self._send_acks)
        self._acks.append(PUBACK_OF_ID | mid)

    def _send_acks(self) -> None:
        acks, self._acks = self._acks, []
        # A PUBACK goes on the connection its PUBLISH came on; once that is gone the broker redelivers.
        if not self._transport.is_closing():
            self.write_data(struct.pack(f">{len(acks)}I", *acks))


class _AckingClient(gmqtt.Client):  # type: ignore[misc]
    """gmqtt client whose connections use `_Protocol`."""

    def __init__(
        self, client_id: str, *, handler: Handler, reconnect_max_s: float, session_expiry_s: int | None
    ) -> None:
        # MQTT 5 ends a session when its connection closes unless CONNECT asks for an expiry interval; 3.1.1
        # has no such property (None) and keeps a session that is not clean.
        expiry = {} if session_expiry_s is None else {"session_expiry_interval": session_expiry_s}
        super().__init__(client_id, clean_session=False, optimistic_acknowledgement=False, **expiry)
        self._handler = handler
        self._reconnect_max_s = reconnect_max_s

    async def _create_connection(
        self, host: str, port: int, ssl: ssl.SSLContext | bool, clean_session: bool, keepalive: int
    ) -> MQTTConnection:
        """gmqtt's `_create_connection` (gmqtt 0.8.0), with our protocol instead of `MQTTProtocol`."""
        self._exit_reconnecting_state()
        self._package_handler.clear_topics_aliases()
        self._connack_received.clear()
        self._connection_lost.clear()
        factory = partial(
            _Protocol, handler=self._handler, connection_state=self._connection_state,
            id_generator=self._package_handler.id_generator,
        )
        transport, protocol = await asyncio.get_running_loop().create_connection(factory, host, port, ssl=ssl)
        return MQTTConnection(
            transport, protocol, clean_session, keepalive, package_handler=self._package_handler,
            logger=self._logger,
        )

    async def reconnect(self, delay: bool = False) -> None:
        """gmqtt's reconnect, with a delay that grows with every failed attempt."""
        attempt = self._connection_state.failed_connections
        self.reconnect_delay = backoff_s(attempt, self._reconnect_max_s)
        await super().reconnect(delay=delay)


class MqttLink:
    """Connects, subscribes, reconnects; `publish` works while disconnected (QoS 1 is resent)."""

    def __init__(
        self,
        *,
        settings: MqttConfig,
        client_id: str,
        subscriptions: list[str],
        handler: Handler,
        on_connected: Callable[[], None] = lambda: None,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._handler = handler
        self._on_connected = on_connected
        self._client: _AckingClient | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        """Whether the broker session is up."""
        return self._client is not None and bool(self._client.is_connected)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> bool:
        """Send, or queue for resending after a reconnect; False when no session was ever up."""
        client = self._client
        if client is None or client._connection is None:
            return False
        client.publish(topic, payload, qos=qos, retain=retain)
        return True

    async def run(self) -> None:
        """Connect with backoff until the first session is up; gmqtt keeps it up after that."""
        attempt = 0
        while True:
            client = self._client = self._new_client()
            try:
                await self._connect(client)
            except (TimeoutError, OSError, gmqtt.mqtt.handler.MQTTConnectError) as exc:
                delay = backoff_s(attempt, self._settings.reconnect_max_s)
                what = "refused the login" if isinstance(exc, gmqtt.mqtt.handler.MQTTConnectError) else "is unreachable"
                log.warning("broker %s %s (%s); retrying in %.1f s", self._settings.url, what, exc, delay)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            break
        try:
            await asyncio.Event().wait()
        finally:
            self._closing = True
            await client.disconnect()

    def _new_client(self) -> _AckingClient:
        s = self._settings
        client = _AckingClient(
            self._client_id, handler=self._handler, reconnect_max_s=s.reconnect_max_s,
            session_expiry_s=s.session_expiry_s if s.protocol == "5" else None,
        )
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        if s.username is not None:
            password = s.password.get_secret_value() if s.password is not None else None
            client.set_auth_credentials(s.username, password)
        return client

    async def _connect(self, client: _AckingClient) -> None:
        s = self._settings
        version = MQTTv311 if s.protocol == "3.1.1" else MQTTv50
        async with asyncio.timeout(max(10.0, s.keepalive_s)):
            await client.connect(s.host, s.port, ssl=self._ssl_context(), keepalive=s.keepalive_s, version=version)

    def _ssl_context(self) -> ssl.SSLContext | bool:
        s = self._settings
        if not s.use_tls:
            return False
        ctx = ssl.create_default_context(cafile=s.tls.ca_file if s.tls else None)
        if s.tls is not None and s.tls.cert_file is not None:
            ctx.load_cert_chain(s.tls.cert_file, s.tls.key_file)
        return ctx

    def _connected(self, client: Any, flags: int, result: int, properties: Any) -> None:
        log.info("connected to %s as %s", self._settings.url, self._client_id)
        if self._subscriptions:  # a publish-only link (the edge) subscribes to nothing
            client.subscribe([gmqtt.Subscription(topic, qos=1) for topic in self._subscriptions])
        self._on_connected()

    def _disconnected(self, client: Any, packet: Any, exc: Any = None) -> None:
        if self._closing:
            log.info("disconnected from %s", self._settings.url)
        else:
            log.warning("disconnected from %s; reconnecting", self._settings.url)
