"""Sparkplug B payloads (protobuf), pure: bytes to pysparkplug's payload objects, and the rebirth command.

pysparkplug raises whatever protobuf or its own checks raise (DecodeError, ValueError, IndexError, TypeError,
OverflowError, NotImplementedError for an unsupported data type); here that becomes one of two errors: the
payload is malformed, or it names a metric its birth did not declare (which a rebirth puts right).
"""

from __future__ import annotations

from pysparkplug import DataType, DBirth, DData, DDeath, Metric, NBirth, NCmd, NData, NDeath

REBIRTH_METRIC = "Node Control/Rebirth"
BD_SEQ_METRIC = "bdSeq"

Birth = NBirth | DBirth
Data = NData | DData


class MalformedPayloadError(Exception):
    """The payload is not a valid Sparkplug B payload for its message type."""


class UnknownMetricError(Exception):
    """A DATA message carries an alias or a name that the birth of its node or device did not declare."""


def decode_birth(raw: bytes, *, device: bool) -> Birth:
    """An NBIRTH's or DBIRTH's payload: every metric with its name, data type and (optional) alias."""
    try:
        return DBirth.decode(raw) if device else NBirth.decode(raw)
    except Exception as exc:
        raise MalformedPayloadError(_what(exc)) from exc


def decode_data(raw: bytes, birth: Birth, *, device: bool) -> Data:
    """An NDATA's or DDATA's payload, its aliases and omitted data types resolved by the birth."""
    try:
        return DData.decode(raw, birth=birth) if device else NData.decode(raw, birth=birth)
    except KeyError as exc:
        raise UnknownMetricError(f"alias or metric {exc} not declared in the birth") from exc
    except Exception as exc:
        raise MalformedPayloadError(_what(exc)) from exc


def decode_node_death(raw: bytes) -> int | None:
    """An NDEATH's bdSeq (None when it carries none that is an integer)."""
    try:
        death = NDeath.decode(raw)
    except Exception as exc:
        raise MalformedPayloadError(_what(exc)) from exc
    value = death.bd_seq_metric.value
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def decode_device_death(raw: bytes) -> int:
    """A DDEATH's seq."""
    try:
        return DDeath.decode(raw).seq
    except Exception as exc:
        raise MalformedPayloadError(_what(exc)) from exc


def bd_seq_of(birth: Birth) -> int | None:
    """The bdSeq an NBIRTH declares, which its NDEATH repeats."""
    for metric in birth.metrics:
        if metric.name == BD_SEQ_METRIC and isinstance(metric.value, int):
            return metric.value
    return None


def rebirth_command(now_ms: int) -> bytes:
    """An NCMD payload asking an edge node to publish its births again."""
    metric = Metric(timestamp=now_ms, name=REBIRTH_METRIC, datatype=DataType.BOOLEAN, value=True)
    return NCmd(timestamp=now_ms, metrics=(metric,)).encode(include_dtypes=True)


def _what(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
