"""The Sparkplug B protocol state of one edge node, without a socket: births and aliases, the sequence, deaths.

Payloads are encoded by pysparkplug, as an edge node built on it would send them.
"""

from __future__ import annotations

from collections import Counter

import pytest
from pysparkplug import DataType, DBirth, DData, DDeath, Metric, NBirth, NCmd, NData, NDeath

from gateway.ingest.sparkplug_codec import REBIRTH_METRIC, MalformedPayloadError, rebirth_command
from gateway.ingest.sparkplug_session import NODE, REBIRTH_HOLDOFF_S, NodeSession, Update, Value

T0 = 1_800_000_000_000  # ms


def metric(name: str | None, value: object, *, alias: int | None = None, ts: int | None = None,
           datatype: DataType = DataType.DOUBLE) -> Metric:
    return Metric(timestamp=ts, name=name, datatype=datatype, value=value, alias=alias)


def nbirth(seq: int = 0, bd_seq: int = 7) -> bytes:
    metrics = (metric("bdSeq", bd_seq, datatype=DataType.INT64), metric("Line speed", 1.5, alias=1))
    return NBirth(timestamp=T0, seq=seq, metrics=metrics).encode()


def dbirth(seq: int) -> bytes:
    metrics = (metric("Weight", 12.5, alias=10, ts=T0 - 60_000), metric("Good parts", 100, alias=11,
                                                                         datatype=DataType.UINT32))
    return DBirth(timestamp=T0 + 1, seq=seq, metrics=metrics).encode()


def ddata(seq: int, *metrics: Metric) -> bytes:
    return DData(timestamp=T0 + 2, seq=seq, metrics=metrics).encode()  # no data types: the birth has them


def born() -> NodeSession:
    session = NodeSession(counts=Counter())
    session.on_message("NBIRTH", NODE, nbirth(), 0.0)
    session.on_message("DBIRTH", "scale-1", dbirth(1), 0.0)
    return session


def test_births_declare_metrics_and_data_by_alias_only_is_resolved() -> None:
    session = NodeSession(counts=Counter())
    node = session.on_message("NBIRTH", NODE, nbirth(), 0.0)
    assert node.born == (NODE,)
    assert Value(NODE, "Line speed", 1.5, T0) in node.values
    device = session.on_message("DBIRTH", "scale-1", dbirth(1), 0.0)
    # A birth states current values as of its own time, whatever the metric's own timestamp says.
    assert device == Update(values=(Value("scale-1", "Weight", 12.5, T0 + 1),
                                    Value("scale-1", "Good parts", 100, T0 + 1)), born=("scale-1",))
    update = session.on_message("DDATA", "scale-1", ddata(2, metric(None, 11.0, alias=10, ts=T0 + 5)), 0.0)
    assert update == Update(values=(Value("scale-1", "Weight", 11.0, T0 + 5),))  # the metric's own time
    assert session.online("scale-1")


def test_the_sequence_wraps_after_255() -> None:
    session = born()
    for seq in [*range(2, 256), 0, 1]:
        update = session.on_message("DDATA", "scale-1", ddata(seq, metric(None, float(seq), alias=10)), 0.0)
        assert not update.rebirth, seq
    assert session.counts == Counter()


def test_a_gap_in_the_sequence_asks_for_a_rebirth_once_and_drops_data_until_it_comes() -> None:
    session = born()
    gap = session.on_message("DDATA", "scale-1", ddata(3, metric(None, 9.0, alias=10)), 10.0)
    assert gap == Update(rebirth=True)  # seq 2 is missing: its value may have been anything
    after = session.on_message("DDATA", "scale-1", ddata(4, metric(None, 8.0, alias=10)), 11.0)
    assert after == Update(rebirth=False)  # asked already, within the hold-off
    later = session.on_message("DDATA", "scale-1", ddata(5, metric(None, 8.0, alias=10)), 10.0 + REBIRTH_HOLDOFF_S)
    assert later.rebirth
    assert session.counts == Counter(sequence_gaps=1, data_before_birth=2, rebirth_requests=2)
    session.on_message("NBIRTH", NODE, nbirth(), 20.0)
    session.on_message("DBIRTH", "scale-1", dbirth(1), 20.0)
    assert session.on_message("DDATA", "scale-1", ddata(2, metric(None, 7.0, alias=10)), 20.0).values


def test_data_before_its_birth_and_unknown_aliases_ask_for_a_rebirth() -> None:
    unborn = NodeSession(counts=Counter())
    assert unborn.on_message("NDATA", NODE, NData(T0, 1, (metric("Line speed", 1.0),)).encode(), 0.0).rebirth
    assert unborn.counts == Counter(data_before_birth=1, rebirth_requests=1)
    session = born()
    assert session.on_message("DDATA", "scale-1", ddata(2, metric(None, 1.0, alias=99)), 0.0).rebirth
    assert session.counts == Counter(unknown_metrics=1, rebirth_requests=1)


def test_a_node_death_with_the_sessions_bd_seq_ends_it_and_a_late_will_does_not() -> None:
    session = born()
    stale = NDeath(timestamp=T0, bd_seq_metric=metric("bdSeq", 6, datatype=DataType.INT64)).encode()
    assert session.on_message("NDEATH", NODE, stale, 0.0) == Update()  # the will of the previous connection
    assert session.counts == Counter(stale_deaths=1)
    death = NDeath(timestamp=T0, bd_seq_metric=metric("bdSeq", 7, datatype=DataType.INT64)).encode()
    assert session.on_message("NDEATH", NODE, death, 0.0) == Update(died=(NODE,))
    assert not session.online(NODE)
    assert not session.online("scale-1")


def test_a_device_death_ends_the_device_only() -> None:
    session = born()
    assert session.on_message("DDEATH", "scale-1", DDeath(timestamp=T0, seq=2).encode(), 0.0) == Update(
        died=("scale-1",))
    assert session.online(NODE)
    assert not session.online("scale-1")


def test_commands_mean_nothing_here() -> None:
    session = born()
    assert session.on_message("NCMD", NODE, b"\x00garbage", 0.0) == Update()


@pytest.mark.parametrize(
    ("kind", "device", "payload"),
    [
        ("NBIRTH", NODE, b"\xff\xff\xff"),  # not protobuf
        ("NBIRTH", NODE, NData(T0, 0, (metric(None, 1.0, alias=3),)).encode()),  # a birth metric without a name
        ("DDATA", "scale-1", b"\x08"),  # truncated
        ("NDEATH", NODE, b""),  # no bdSeq metric
    ],
)
def test_malformed_payloads_raise(kind: str, device: str | None, payload: bytes) -> None:
    session = born()
    with pytest.raises(MalformedPayloadError):
        session.on_message(kind, device, payload, 0.0)


def test_the_rebirth_command_is_a_node_control_metric() -> None:
    [command] = NCmd.decode(rebirth_command(T0)).metrics
    assert (command.name, command.value, command.datatype) == (REBIRTH_METRIC, True, DataType.BOOLEAN)
