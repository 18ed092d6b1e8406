"""What the service knows of one Sparkplug B edge node, and what each message from it means. Pure: message type,
device, payload bytes and the time in; an `Update` out.

- NBIRTH starts a session: its seq (0), its bdSeq and the node's metrics with their aliases. Devices' births
  before it no longer count: after an NBIRTH the node sends its DBIRTHs again.
- DBIRTH declares a device's metrics with their aliases.
- NDATA / DDATA carry changed values, by alias or name, and the next seq (0–255, wrapping) of the node's
  sequence, which DBIRTH and DDEATH share. A DATA before its birth, a gap in the sequence or an alias the birth
  did not declare means the service's picture is incomplete: the values are not applied and the node is asked
  for a rebirth (at most once per `REBIRTH_HOLDOFF_S`), which sends every current value again.
- NDEATH (the node's MQTT will, or its clean goodbye) ends the session when its bdSeq is the session's: a late
  will of an earlier connection ends nothing. DDEATH ends one device's.
- NCMD / DCMD are commands to the node (ours among them) and mean nothing here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from pysparkplug import Metric

from gateway.ingest.sparkplug_codec import (
    Birth,
    UnknownMetricError,
    bd_seq_of,
    decode_birth,
    decode_data,
    decode_device_death,
    decode_node_death,
)

REBIRTH_HOLDOFF_S: Final = 5.0
"""A node asked for a rebirth is not asked again for this long: its DATA meanwhile are dropped quietly."""

SEQ_MODULUS: Final = 256
NODE: Final = None
"""The device of a node's own metrics, births and deaths."""


@dataclass(frozen=True, slots=True)
class Value:
    """A metric's value as the node reported it; `ts_ms` is when it was measured (Sparkplug: ms since epoch)."""

    device: str | None
    name: str
    value: object  # as pysparkplug decodes it: bool, int, float, str, bytes, datetime, tuple
    ts_ms: int


@dataclass(frozen=True, slots=True)
class Update:
    """What one message means: values to apply, the node (None) or devices now up or down, a rebirth to ask."""

    values: tuple[Value, ...] = ()
    born: tuple[str | None, ...] = ()
    died: tuple[str | None, ...] = ()  # NODE among them: the node and all its devices
    rebirth: bool = False


NOTHING: Final = Update()


@dataclass(slots=True)
class NodeSession:
    """One edge node: whether it is born, its births (alias tables) per device, the last seq, its bdSeq."""

    counts: Counter[str] = field(default_factory=Counter)  # shared by the nodes of a plant
    births: dict[str | None, Birth] = field(default_factory=dict)  # NODE's birth present: the node is born
    last_seq: int | None = None
    bd_seq: int | None = None
    rebirth_asked_at: float | None = None

    def online(self, device: str | None) -> bool:
        """Whether the node, and the device when one is named, are born and not dead."""
        return NODE in self.births and device in self.births

    def on_message(self, kind: str, device: str | None, payload: bytes, now: float) -> Update:
        """Apply one message; `MalformedPayloadError` when the payload cannot be what its topic says."""
        if kind == "NBIRTH" and device is NODE:
            return self._node_birth(payload)
        if kind == "DBIRTH" and device is not NODE:
            return self._device_birth(device, payload, now)
        if kind in ("NDATA", "DDATA") and (device is NODE) == (kind == "NDATA"):
            return self._data(device, payload, now)
        if kind == "NDEATH" and device is NODE:
            return self._node_death(payload)
        if kind == "DDEATH" and device is not NODE:
            return self._device_death(device, payload, now)
        return NOTHING  # commands (NCMD, DCMD), ours included

    def rebirth(self, now: float, *, force: bool = False) -> bool:
        """Whether to ask for a rebirth now: not when asked within the hold-off, unless `force`d (a new
        connection); counts the requests."""
        if not force and self.rebirth_asked_at is not None and now - self.rebirth_asked_at < REBIRTH_HOLDOFF_S:
            return False
        self.rebirth_asked_at = now
        self.counts["rebirth_requests"] += 1
        return True

    def _node_birth(self, payload: bytes) -> Update:
        birth = decode_birth(payload, device=False)
        self.births = {NODE: birth}
        self.last_seq, self.bd_seq, self.rebirth_asked_at = birth.seq, bd_seq_of(birth), None
        return Update(values=_values(NODE, birth.metrics, birth.timestamp, at_birth=True), born=(NODE,))

    def _device_birth(self, device: str | None, payload: bytes, now: float) -> Update:
        birth = decode_birth(payload, device=True)
        if NODE not in self.births:
            return self._incomplete("data_before_birth", now)
        if not self._in_sequence(birth.seq):
            return self._incomplete("sequence_gaps", now)
        self.births[device] = birth
        return Update(values=_values(device, birth.metrics, birth.timestamp, at_birth=True), born=(device,))

    def _data(self, device: str | None, payload: bytes, now: float) -> Update:
        birth = self.births.get(device)
        if birth is None or NODE not in self.births:
            return self._incomplete("data_before_birth", now)
        try:
            data = decode_data(payload, birth, device=device is not NODE)
        except UnknownMetricError:
            return self._incomplete("unknown_metrics", now)
        if not self._in_sequence(data.seq):
            return self._incomplete("sequence_gaps", now)
        return Update(values=_values(device, data.metrics, data.timestamp, at_birth=False))

    def _node_death(self, payload: bytes) -> Update:
        bd_seq = decode_node_death(payload)
        if self.bd_seq is not None and bd_seq is not None and bd_seq != self.bd_seq:
            self.counts["stale_deaths"] += 1  # the will of an earlier connection, delivered late
            return NOTHING
        self.births, self.last_seq, self.bd_seq = {}, None, None
        return Update(died=(NODE,))

    def _device_death(self, device: str | None, payload: bytes, now: float) -> Update:
        seq = decode_device_death(payload)
        if NODE in self.births and not self._in_sequence(seq):
            return self._incomplete("sequence_gaps", now)
        self.births.pop(device, None)
        return Update(died=(device,))

    def _in_sequence(self, seq: int) -> bool:
        expected = None if self.last_seq is None else (self.last_seq + 1) % SEQ_MODULUS
        if seq != expected:
            return False
        self.last_seq = seq
        return True

    def _incomplete(self, why: str, now: float) -> Update:
        """Values were missed or cannot be read: forget the births until the node sends them again."""
        self.counts[why] += 1
        self.births = {}
        return Update(rebirth=self.rebirth(now))


def _values(
    device: str | None, metrics: tuple[Metric, ...], payload_ts_ms: int, *, at_birth: bool
) -> tuple[Value, ...]:
    """The current values among the metrics. A birth states every value as of its own time; a DATA metric was
    measured at its own timestamp (else the payload's). Historical and null values are not current values."""
    return tuple(
        Value(device, metric.name, metric.value,
              payload_ts_ms if at_birth or metric.timestamp is None else metric.timestamp)
        for metric in metrics
        if metric.name is not None and not metric.is_null and not metric.is_historical and metric.value is not None
    )
