"""One task per OPC UA PLC: subscribes to its points' nodes and publishes their values on MQTT.

Values and the PLC's status go out as `edge/plc_output.py` says, on the same topics as a Modbus PLC's. The
points are monitored items of one subscription (publishing and sampling interval `poll_interval_s`), so the
server sends a value when it changes; a server without subscriptions is read every `poll_interval_s`. A
point whose node the server does not have, or whose data type is not the point's `type`, is reported by
name and left out until the next reconnect; a value of bad quality is not published and is reported until
a good one comes.

Stack lights are written to their nodes: an integer node set to the colour code, or a boolean node per lamp.
A write that fails is retried every `poll_interval_s`, and after a reconnect every light is written again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.subscription import DataChangeNotif
from asyncua.crypto import security_policies, uacrypto
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaError, UaStatusCodeError
from cryptography import x509

from config.floor import LIGHT_CODES, Plc, Point, PointType, StackLight
from config.opcua import OpcUaConfig
from edge.adapter import Publish, stop_if_cancelled
from edge.plc_poller import DeviceError, PlcPoller
from rules.counters import width_max

log = logging.getLogger(__name__)

VARIANT_TYPES: dict[PointType, ua.VariantType] = {
    "bool": ua.VariantType.Boolean, "uint16": ua.VariantType.UInt16, "int16": ua.VariantType.Int16,
    "uint32": ua.VariantType.UInt32, "int32": ua.VariantType.Int32, "uint64": ua.VariantType.UInt64,
    "float32": ua.VariantType.Float, "float64": ua.VariantType.Double,
}
"""The OPC UA built-in type of each point type."""

_BUILT_IN = {ua.NodeId(ua.Int32(t.value)): t for t in ua.VariantType if 1 <= t.value <= 25}
"""Data type node ids (namespace 0) of the built-in types; other data types are checked value by value."""

_INTEGERS = {
    ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16, ua.VariantType.UInt16, ua.VariantType.Int32,
    ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64,
}

_NO_SUBSCRIPTIONS = {
    StatusCodes.BadServiceUnsupported, StatusCodes.BadNotSupported, StatusCodes.BadNotImplemented,
    StatusCodes.BadTooManySubscriptions,
}
"""What a server answers CreateSubscription with when it cannot have one: its points are read instead."""

SESSION_TIMEOUT_MS = 60_000

_ERRORS = (OSError, TimeoutError, UaError)
"""What asyncua raises when the server is gone, does not answer, or refuses a whole request."""


class ValueRefused(Exception):
    """A node's value is not one the point's type holds."""


def reading(point: Point, value: Any) -> bool | int | float:
    """The value to publish for a node's `value`: `raw × scale + offset` for numbers; `ValueRefused` when the
    value is not of the point's type (a bool for a number, a fraction or an out-of-range number for an integer)."""
    if point.type == "bool":
        if isinstance(value, bool):
            return value
        raise ValueRefused(f"the node gives {type(value).__name__} {value!r}, not a bool")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueRefused(f"the node gives {type(value).__name__} {value!r}, not a number")
    number: int | float = value
    if not point.type.startswith("float"):
        top = width_max(point.type)
        low = 0 if point.type.startswith("u") else -top - 1
        if not isinstance(value, int) or not low <= value <= top:
            raise ValueRefused(f"the node gives {value!r}, not a {point.type}")
    if (point.scale, point.offset) == (1.0, 0.0):
        return number
    return number * point.scale + point.offset


class OpcUaPoller(PlcPoller[Client]):
    """One PLC over OPC UA: subscribe to its points, publish what changes, write its stack lights."""

    def __init__(
        self, *, plc: Plc, prefix: str, clock: Callable[[], float] = time.time, reconnect_max_s: float = 30.0
    ) -> None:
        assert plc.opcua is not None
        super().__init__(plc=plc, kind="opcua", where=plc.opcua.endpoint, prefix=prefix, clock=clock,
                         reconnect_max_s=reconnect_max_s)
        self._opcua: OpcUaConfig = plc.opcua
        self._points = {ua.NodeId.from_string(p.node): p for p in plc.points if p.node is not None}
        self._light_types: dict[str, ua.VariantType] = {}  # colour-code node → its integer type, this session
        self._connected = False  # whether a session is open, to be closed

    def _open(self) -> Client:
        return self._client()

    def _client(self) -> Client:
        """A client whose every request, and its check that the server still answers (every `timeout_s`), waits at
        most `timeout_s`; reconnecting is the poller's job, so asyncua's own is off."""
        client = Client(self._opcua.endpoint, timeout=self.plc.timeout_s, watchdog_intervall=self.plc.timeout_s)
        # A PLC has few sessions to give: one left behind by a client that died is freed after this, not an hour.
        client.session_timeout = SESSION_TIMEOUT_MS
        return client

    async def _session(self, client: Client, publish: Publish) -> None:
        lost = asyncio.Event()

        async def on_lost(exc: Exception) -> None:
            lost.set()

        client.connection_lost_callback = on_lost
        await self._connect(client)
        nodes = await self._check_nodes(client)
        polled = not await self._subscribe(client, nodes, _Changes(self, publish, lost))
        while not lost.is_set():
            stop_if_cancelled()
            if polled:
                await self._poll(client, nodes, publish)
            await self._write_lights(client)
            self._answered = True
            self._out.refresh(publish, self.plc.points)
            self._out.report(publish, online=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self.plc.poll_interval_s)
        raise DeviceError(f"{self._opcua.endpoint}: connection lost")

    async def _connect(self, client: Client) -> None:
        where = self._opcua.endpoint
        try:
            if (security := self._opcua.security) is not None:
                certificate = await uacrypto.load_certificate(str(security.certificate))
                client.application_uri = _application_uri(certificate) or client.application_uri
                policy = getattr(security_policies, f"SecurityPolicy{security.policy}")
                await client.set_security(
                    policy, str(security.certificate), str(security.private_key),
                    server_certificate=str(security.server_certificate),
                    mode=getattr(ua.MessageSecurityMode, security.mode),
                )
            if (user := self._opcua.user) is not None:
                if user.name is not None and user.password is not None:
                    client.set_user(user.name)
                    client.set_password(user.password.get_secret_value())
                if user.certificate is not None and user.private_key is not None:
                    await client.load_client_certificate(str(user.certificate))
                    await client.load_private_key(user.private_key)
        except (OSError, ValueError, TypeError) as exc:
            raise DeviceError(f"{where}: cannot load the security files: {exc}") from exc
        try:
            await asyncio.wait_for(client.connect(), 2 * self.plc.timeout_s)
        except _ERRORS as exc:
            raise DeviceError(f"cannot connect to {where}: {_describe(exc)}") from exc
        self._connected = True

    async def _check_nodes(self, client: Client) -> list[Node]:
        """The points' nodes the server has with a data type that fits; the others are refused by name."""
        nodes = [client.get_node(node_id) for node_id in self._points]
        light_nodes = [client.get_node(light.node) for light in self.plc.lights if light.node is not None]
        try:
            types = await client.read_attributes([*nodes, *light_nodes], AttributeIds.DataType)
        except _ERRORS as exc:
            raise DeviceError(f"{self._opcua.endpoint}: {_describe(exc)}") from exc
        found: list[Node] = []
        for node, answer in zip(nodes, types[:len(nodes)], strict=True):
            point = self._points[node.nodeid]
            why = _type_problem(answer, VARIANT_TYPES[point.type])
            if why:
                self._refuse(point, why)
            else:
                found.append(node)
        self._light_types.clear()
        for node, answer in zip(light_nodes, types[len(nodes):], strict=True):
            data_type = answer.Value.Value if _status(answer).is_good() and answer.Value is not None else None
            if isinstance(data_type, ua.NodeId) and _BUILT_IN.get(data_type) in _INTEGERS:
                self._light_types[node.nodeid.to_string()] = _BUILT_IN[data_type]
        return found

    async def _subscribe(self, client: Client, nodes: list[Node], changes: _Changes) -> bool:
        """Monitor the nodes; False when the server has no subscriptions for us (the nodes are read instead)."""
        if not nodes:
            return True
        interval_ms = self.plc.poll_interval_s * 1000
        try:
            subscription = await client.create_subscription(interval_ms, changes)
            handles = await subscription.subscribe_data_change(nodes, sampling_interval=ua.Double(interval_ms))
        except UaStatusCodeError as exc:
            if exc.code not in _NO_SUBSCRIPTIONS:
                raise DeviceError(f"{self._opcua.endpoint}: {_describe(exc)}") from exc
            log.info("PLC %s: the server has no subscriptions (%s); reading its points every %g s",
                     self.plc.id, _describe(exc), self.plc.poll_interval_s)
            return False
        except _ERRORS as exc:
            raise DeviceError(f"{self._opcua.endpoint}: {_describe(exc)}") from exc
        for node, handle in zip(nodes, handles, strict=True):
            if isinstance(handle, ua.StatusCode):
                self._refuse(self._points[node.nodeid], f"cannot be monitored: {handle.name}")
        return True

    async def _poll(self, client: Client, nodes: list[Node], publish: Publish) -> None:
        try:
            answers = await client.read_attributes(nodes, AttributeIds.Value)
        except _ERRORS as exc:
            raise DeviceError(f"{self._opcua.endpoint}: {_describe(exc)}") from exc
        for node, answer in zip(nodes, answers, strict=True):
            self.take(publish, node.nodeid, answer)

    def take(self, publish: Publish, node_id: ua.NodeId, answer: ua.DataValue) -> None:
        """Publish a node's value (a change from the subscription, or what a read answered)."""
        point = self._points.get(node_id)
        if point is None:
            return
        if not _status(answer).is_good():
            self._refuse(point, f"no good value: {_status(answer).name}")
            return
        try:
            value = reading(point, answer.Value.Value if answer.Value is not None else None)
        except ValueRefused as exc:
            self._refuse(point, str(exc))
            return
        if self._out.refused.pop(point.name, None) is not None:
            log.info("PLC %s point %s (%s): good values again", self.plc.id, point.name, point.node)
        self._out.value(publish, point, value)

    def _refuse(self, point: Point, why: str) -> None:
        if self._out.refused.get(point.name) != why:
            log.error("PLC %s point %s (%s, %s): %s", self.plc.id, point.name, point.node, point.type, why)
        self._out.refused[point.name] = why

    async def _write_lights(self, client: Client) -> None:
        for light, colour in self._lights.due():
            try:
                problem = await self._write_light(client, light, colour)
            except _ERRORS as exc:
                raise DeviceError(f"{self._opcua.endpoint}: {_describe(exc)}") from exc
            if problem:
                self._lights.refused_write(light, colour, problem)
            else:
                self._lights.written(light, colour)

    async def _write_light(self, client: Client, light: StackLight, colour: str) -> str:
        """Write the light; what the server refused, if anything."""
        if light.node is not None:
            kind = self._light_types.get(ua.NodeId.from_string(light.node).to_string())
            if kind is None:
                return f"node {light.node} is not an integer variable the server has"
            writes = [(light.node, ua.Variant(LIGHT_CODES[colour], kind))]
        else:
            assert light.lamp_nodes is not None
            lamps = light.lamp_nodes.model_dump(exclude_none=True).items()
            writes = [(node, ua.Variant(lamp == colour, ua.VariantType.Boolean)) for lamp, node in lamps]
        nodes = [client.get_node(node) for node, _ in writes]
        results = await client.write_values(nodes, [ua.DataValue(v) for _, v in writes], raise_on_partial_error=False)
        return "; ".join(f"{node}: {r.name}" for (node, _), r in zip(writes, results, strict=True) if not r.is_good())

    async def _close(self, client: Client) -> None:
        """End the session if there was one (which also stops asyncua's tasks for it), then the connection."""
        if self._connected:
            with contextlib.suppress(*_ERRORS):
                await asyncio.wait_for(client.close_session(), self.plc.timeout_s)
            self._connected = False
        client.disconnect_socket()  # also after a connect that was cancelled halfway


class _Changes:
    """asyncua's subscription handler of one session: hands each data change to the poller, and ends the session
    when the server ends the subscription."""

    def __init__(self, poller: OpcUaPoller, publish: Publish, lost: asyncio.Event) -> None:
        self._poller = poller
        self._publish = publish
        self._lost = lost

    def datachange_notification(self, node: Node, val: Any, data: DataChangeNotif) -> None:
        self._poller.take(self._publish, node.nodeid, data.monitored_item.Value)

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        log.warning("PLC %s: the server ended the subscription: %s", self._poller.plc.id, _status_name(status))
        self._lost.set()


def _status_name(status: ua.StatusChangeNotification) -> str:
    return status.Status.name if status.Status is not None else "no status"


def _status(answer: ua.DataValue) -> ua.StatusCode:
    return answer.StatusCode or ua.StatusCode()  # a DataValue without a status code is good (OPC UA Part 6)


def _type_problem(answer: ua.DataValue, wanted: ua.VariantType) -> str:
    """Why a node whose DataType attribute read as `answer` cannot give a point of type `wanted` ('' if it can)."""
    if not _status(answer).is_good():
        return f"the server has no such variable ({_status(answer).name})"
    data_type = answer.Value.Value if answer.Value is not None else None
    built_in = _BUILT_IN.get(data_type) if isinstance(data_type, ua.NodeId) else None
    if built_in is not None and built_in != wanted:
        return f"the node's data type is {built_in.name}; the point's type needs {wanted.name}"
    return ""


def _application_uri(certificate: x509.Certificate) -> str | None:
    """The application URI in the certificate, which the session must announce (servers check they agree)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, UaStatusCodeError):
        return ua.StatusCode(exc.code).name
    return str(exc) or type(exc).__name__
