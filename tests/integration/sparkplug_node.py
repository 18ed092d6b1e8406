"""A Sparkplug B edge node for the tests: pysparkplug's `EdgeNode`, publishing through a real broker, with the
two things its 0.6 release leaves to the application: answering `Node Control/Rebirth` by sending its births
again, and sending DATA by alias only (as Ignition and most edge nodes do after their births)."""

from __future__ import annotations

import itertools

from pysparkplug import (
    Client,
    DataType,
    DBirth,
    DData,
    Device,
    EdgeNode,
    Message,
    MessageType,
    Metric,
    NBirth,
    QoS,
    Topic,
    get_current_timestamp,
)

REBIRTH = "Node Control/Rebirth"


class TestEdgeNode(EdgeNode):
    """An edge node whose devices' metrics carry aliases; counts the rebirths it answered."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, group: str, node: str, devices: dict[str, list[tuple[str, DataType, object]]]) -> None:
        super().__init__(group, node, metrics=[], client=Client(), cmd_callback=self._command)
        self.rebirths = 0
        self.dropped = False
        aliases = itertools.count(1)
        self.aliases: dict[tuple[str, str], tuple[int, DataType]] = {}
        for device_id, metrics in devices.items():
            declared = []
            for name, datatype, value in metrics:
                alias = next(aliases)
                self.aliases[(device_id, name)] = (alias, datatype)
                declared.append(Metric(timestamp=get_current_timestamp(), name=name, datatype=datatype, value=value,
                                       alias=alias))
            self.register(Device(device_id, declared))

    def send(self, device_id: str, values: dict[str, object], *, ts_ms: int | None = None) -> None:
        """DDATA with the metrics by alias only, measured at `ts_ms` (default: now)."""
        ts = get_current_timestamp() if ts_ms is None else ts_ms
        named, by_alias = [], []
        for name, value in values.items():
            alias, datatype = self.aliases[(device_id, name)]
            named.append(Metric(timestamp=ts, name=name, datatype=datatype, value=value, alias=alias))
            by_alias.append(Metric(timestamp=ts, name=None, datatype=datatype, value=value, alias=alias))
        self.devices[device_id].update(named)  # what the next birth states
        topic = Topic(message_type=MessageType.DDATA, group_id=self.group_id, edge_node_id=self.edge_node_id,
                      device_id=device_id)
        payload = DData(timestamp=ts, seq=self._seq, metrics=tuple(by_alias))
        self._client.publish(Message(topic=topic, payload=payload, qos=QoS.AT_MOST_ONCE, retain=False))

    def skip_seq(self) -> None:
        """Lose a message: the next one's seq is one further on than the host expects."""
        _ = self._seq

    def drop(self) -> None:
        """Lose the connection without a goodbye (power or network gone): the broker publishes the NDEATH will."""
        self.dropped = True
        paho = self._client._client
        paho.loop_stop()
        sock = paho.socket()
        if sock is not None:
            sock.close()

    def disconnect(self) -> None:
        """Say goodbye (NDEATH, DISCONNECT), unless the connection was dropped."""
        if not self.dropped:
            super().disconnect()

    def _command(self, node: EdgeNode, message: Message) -> None:
        metrics = getattr(message.payload, "metrics", ())
        if any(m.name == REBIRTH and m.value is True for m in metrics):
            self._rebirth()

    def _rebirth(self) -> None:
        """NBIRTH (seq 0, the session's bdSeq) and every DBIRTH, with current values, as on connecting."""
        self._EdgeNode__seq_cycler = itertools.cycle(range(256))  # type: ignore[attr-defined]
        # pysparkplug prepares the next connection's bdSeq (and will) right after its births: this session's
        # bdSeq, which its will repeats, is the one before.
        bd_seq = Metric(timestamp=get_current_timestamp(), name="bdSeq", datatype=DataType.INT64,
                        value=(self._bd_seq_metric.value - 1) % 256)  # type: ignore[operator]
        nbirth = NBirth(timestamp=get_current_timestamp(), seq=self._seq, metrics=(*self.metrics.values(), bd_seq))
        self._publish(Topic(message_type=MessageType.NBIRTH, group_id=self.group_id,
                            edge_node_id=self.edge_node_id), nbirth)
        for device in self.devices.values():
            dbirth = DBirth(timestamp=get_current_timestamp(), seq=self._seq, metrics=tuple(device.metrics.values()))
            self._publish(Topic(message_type=MessageType.DBIRTH, group_id=self.group_id,
                                edge_node_id=self.edge_node_id, device_id=device.device_id), dbirth)
        self.rebirths += 1

    def _publish(self, topic: Topic, payload: NBirth | DBirth) -> None:
        self._client.publish(Message(topic=topic, payload=payload, qos=QoS.AT_MOST_ONCE, retain=False),
                             include_dtypes=True)
