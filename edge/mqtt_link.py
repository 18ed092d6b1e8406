"""A broker connection that keeps itself up: the device adapters publish through it, and the gateway's link
(`gateway/mqtt/link.py`) is this connection with a faster way of its own to take incoming messages.

gmqtt (chosen for throughput: docs/DESIGN.md) keeps the session once it is up: keepalive, reconnects with a
growing delay, resending our own QoS 1 publishes. The session is persistent (clean session off; with MQTT 5 a
Session Expiry Interval, without which an MQTT 5 broker ends the session with the connection), so the broker
keeps what was published for us while we are away. Incoming messages are acknowledged on receipt here.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Callable
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv50, MQTTv311

from config.service import MqttConfig

log = logging.getLogger(__name__)

OnMessage = Callable[[str, bytes], None]
"""Called with the topic and payload of every message received."""


def backoff_s(attempt: int, cap_s: float) -> float:
    """Capped exponential backoff with jitter, as aiomqtt does it."""
    return min(cap_s, random.uniform(0.5, 1.5 ** min(10, attempt + 1)))


class Client(gmqtt.Client):  # type: ignore[misc]
    """gmqtt's client with a persistent session and a reconnect delay that grows with every failed attempt."""

    def __init__(
        self, client_id: str, *, reconnect_max_s: float, session_expiry_s: int | None, acknowledge_on_receipt: bool,
        clean_session: bool = False,
    ) -> None:
        # MQTT 5 ends a session when its connection closes unless CONNECT asks for an expiry interval; 3.1.1
        # has no such property (None) and keeps a session that is not clean.
        expiry = {} if session_expiry_s is None else {"session_expiry_interval": session_expiry_s}
        super().__init__(
            client_id, clean_session=clean_session, optimistic_acknowledgement=acknowledge_on_receipt, **expiry
        )
        self._reconnect_max_s = reconnect_max_s

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
        on_message: OnMessage = lambda topic, payload: None,
        on_connected: Callable[[], None] = lambda: None,
        clean_session: bool = False,
    ) -> None:
        self._settings = settings
        self._clean_session = clean_session  # a clean session (Sparkplug B's host connection) keeps nothing
        self._client_id = client_id
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._on_connected = on_connected
        self._client: Client | None = None
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

    def _make_client(self, *, reconnect_max_s: float, session_expiry_s: int | None) -> Client:
        """The gmqtt client of one connection attempt (the gateway's link makes one of its own)."""
        client = Client(self._client_id, reconnect_max_s=reconnect_max_s, session_expiry_s=session_expiry_s,
                        acknowledge_on_receipt=True, clean_session=self._clean_session)
        client.on_message = self._message
        return client

    def _message(self, client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        self._on_message(topic, payload)
        return 0  # success: gmqtt has acknowledged the message already

    def _new_client(self) -> Client:
        s = self._settings
        client = self._make_client(
            reconnect_max_s=s.reconnect_max_s,
            session_expiry_s=s.session_expiry_s if s.protocol == "5" and not self._clean_session else None,
        )
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        if s.username is not None:
            password = s.password.get_secret_value() if s.password is not None else None
            client.set_auth_credentials(s.username, password)
        return client

    async def _connect(self, client: Client) -> None:
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
        if self._subscriptions:  # a publish-only link subscribes to nothing
            client.subscribe([gmqtt.Subscription(topic, qos=1) for topic in self._subscriptions])
        self._on_connected()

    def _disconnected(self, client: Any, packet: Any, exc: Any = None) -> None:
        if self._closing:
            log.info("disconnected from %s", self._settings.url)
        else:
            log.warning("disconnected from %s; reconnecting", self._settings.url)
