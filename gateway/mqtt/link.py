"""The service's broker connection: persistent session, QoS 1, acknowledgements sent when we say so.

The connection itself (session, keepalive, reconnects with backoff, resending our QoS 1 publishes) is the device
adapters' (`edge.mqtt_link`). Incoming PUBLISH packets are decoded here instead of by gmqtt
(`gateway/mqtt/packets.py`), straight from the socket's data: the handler runs synchronously for each one
and, for QoS 1, gets a callable that acknowledges it, which the committer invokes once the message's effects
are durable. The PUBACKs called for in one event-loop iteration go out in one write.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from gmqtt.mqtt.connection import MQTTConnection
from gmqtt.mqtt.constants import MQTTv50
from gmqtt.mqtt.package import Package
from gmqtt.mqtt.protocol import MQTTProtocol

from config.service import MqttConfig
from edge.mqtt_link import Client, MqttLink
from gateway.mqtt.packets import PUBACK_OF_ID, MalformedPacketError, PacketReader

log = logging.getLogger(__name__)

Ack = Callable[[], None]
"""Sends the PUBACK of one QoS 1 message."""
Handler = Callable[[str, bytes, Ack | None], None]
"""Called for every message with its topic, payload and, for QoS 1, the function that acknowledges it."""


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


class _AckingClient(Client):
    """gmqtt client whose connections use `_Protocol`: the handler acknowledges each message when it says so."""

    def __init__(
        self, client_id: str, *, handler: Handler, reconnect_max_s: float, session_expiry_s: int | None,
        clean_session: bool,
    ) -> None:
        super().__init__(client_id, reconnect_max_s=reconnect_max_s, session_expiry_s=session_expiry_s,
                         acknowledge_on_receipt=False, clean_session=clean_session)
        self._handler = handler

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


class AckingLink(MqttLink):
    """The broker link (connect, subscribe, reconnect, publish while disconnected: `edge.mqtt_link.MqttLink`)
    whose messages go to `handler` with the function that acknowledges each, to be called once it is safe."""

    def __init__(
        self,
        *,
        settings: MqttConfig,
        client_id: str,
        subscriptions: list[str],
        handler: Handler,
        on_connected: Callable[[], None] = lambda: None,
        clean_session: bool = False,
    ) -> None:
        super().__init__(settings=settings, client_id=client_id, subscriptions=subscriptions, on_connected=on_connected,
                         clean_session=clean_session)
        self._handler = handler

    def _make_client(self, *, reconnect_max_s: float, session_expiry_s: int | None) -> Client:
        return _AckingClient(
            self._client_id, handler=self._handler, reconnect_max_s=reconnect_max_s, session_expiry_s=session_expiry_s,
            clean_session=self._clean_session,
        )
