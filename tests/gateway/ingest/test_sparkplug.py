"""Sparkplug B values onto the plant, without a socket: repeats of unchanged values, a change measured before a
repeat, a bad metric dead-lettered alone, a death's alarms."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysparkplug import DataType, DBirth, DData, Metric, NBirth, NDeath

from config.plant import PlantConfig
from gateway.floor.shop_floor import ShopFloor
from gateway.ingest.errors import PayloadError
from gateway.ingest.rejections import Rejections
from gateway.ingest.scale import ScaleIngest
from gateway.ingest.sparkplug import SparkplugIngest
from gateway.state.committer import Committer
from gateway.state.store import Store
from rules.engine import Engine

T0 = 1_800_000_000.0  # s


class Plant:
    """A plant with bin B1 and press1's counters fed by node g/n's devices, and what it publishes."""

    def __init__(self, tmp_path: Path) -> None:
        config = PlantConfig.model_validate({
            "site": "p", "storage": {"path": str(tmp_path / "s.db")},
            "items": [{"sku": "A", "unit_weight_g": 10}],
            "bins": [{"id": "B1", "sku": "A", "line": "L1", "station": "S1", "container_qty": 100,
                      "reorder_point": 30, "debounce": {"readings": 2}, "scale": {"tare_g": 500}}],
            "plcs": [{"id": "press1", "points": [{"name": "in", "address": 0, "type": "uint32", "counter": {}}]}],
            "stations": [{"id": "S1", "line": "L1", "in_counters": ["press1/in"]}],
            "sparkplug": {"repeat_s": 5, "nodes": [{"group": "g", "node": "n", "metrics": [
                {"device": "d", "name": "Weight", "bin": "B1", "unit": "kg"},
                {"device": "d", "name": "In", "point": "press1/in"}]}]},
        })
        store = Store(config.storage.path)
        self.engine = Engine(specs=config.bin_specs(), started_at=T0)
        committer = Committer(store=store, executor=ThreadPoolExecutor(1), on_committed=lambda batch: None)
        self.sent: list[tuple[str, bytes]] = []
        self.rejections = Rejections(topic="p/deadletter", publish=lambda t, p: self.sent.append((t, p)) or True)
        scales = ScaleIngest(engine=self.engine, site="p", committer=committer, max_clock_skew_s=300)
        self.floor = ShopFloor(config=config, reads=store.floor, committer=committer, started_at=T0)
        self.ingest = SparkplugIngest(
            config=config.sparkplug, scales=scales, floor=self.floor, rejections=self.rejections,
            max_clock_skew_s=300, publish=lambda t, p: self.sent.append((t, p)) or True, clock=lambda: T0,
        )
        self.seq = 0

    def send(self, kind: str, payload: bytes, now: float, device: str | None = "d") -> bool:
        return self.ingest.handle(f"g/{kind}/n" + (f"/{device}" if device else ""), payload, now)

    def births(self, weight_kg: float, parts: int, now: float = T0) -> None:
        bd_seq = Metric(timestamp=None, name="bdSeq", datatype=DataType.INT64, value=3)
        self.send("NBIRTH", NBirth(timestamp=ms(now), seq=0, metrics=(bd_seq,)).encode(), now, device=None)
        metrics = (Metric(timestamp=None, name="Weight", datatype=DataType.DOUBLE, value=weight_kg, alias=1),
                   Metric(timestamp=None, name="In", datatype=DataType.UINT32, value=parts, alias=2))
        self.seq = 1
        self.send("DBIRTH", DBirth(timestamp=ms(now), seq=1, metrics=metrics).encode(), now)

    def data(self, now: float, measured: float | None = None, **values: object) -> bool:
        self.seq += 1
        types = {"Weight": (1, DataType.DOUBLE), "In": (2, DataType.UINT32)}
        metrics = tuple(Metric(timestamp=ms(measured or now), name=None, datatype=types[name][1], value=value,
                               alias=types[name][0]) for name, value in values.items())
        return self.send("DDATA", DData(timestamp=ms(now), seq=self.seq, metrics=metrics).encode(), now)

    def deadletters(self) -> list[dict[str, object]]:
        return [json.loads(p) for t, p in self.sent if t == "p/deadletter"]


def ms(seconds: float) -> int:
    return round(seconds * 1000)


def test_an_unchanged_value_is_repeated_so_that_debouncing_completes(tmp_path: Path) -> None:
    plant = Plant(tmp_path)
    plant.births(weight_kg=1.5, parts=0)
    plant.data(T0 + 1, Weight=0.75)  # 25 pieces, below the reorder point: one stable reading of two
    plant.ingest.tick(T0 + 3)
    assert plant.engine.open_cards("B1") == 0  # not yet repeat_s since the value came
    plant.ingest.tick(T0 + 6)
    assert plant.engine.open_cards("B1") == 1


def test_a_change_measured_before_a_repeat_counts_from_the_repeat(tmp_path: Path) -> None:
    plant = Plant(tmp_path)
    plant.births(weight_kg=1.5, parts=100)
    plant.ingest.tick(T0 + 10)  # "100 pieces still" at T0 + 10
    plant.data(T0 + 11, measured=T0 + 9, Weight=1.2)  # measured before that repeat: late, not out of order
    assert plant.engine.bin("B1").state.pieces == 70
    assert plant.deadletters() == []


def test_a_bad_metric_is_dead_lettered_alone(tmp_path: Path) -> None:
    plant = Plant(tmp_path)
    plant.births(weight_kg=1.5, parts=100)
    plant.data(T0 + 1, Weight=-5.0, In=103)  # far below the tare: refused; the counter is fine
    [letter] = plant.deadletters()
    assert (letter["reason"], letter["topic"]) == ("negative_weight", "spBv1.0/g/DDATA/n/d")
    assert str(letter["detail"]).startswith("metric 'Weight': ")
    assert plant.floor.rules.stations["S1"].state.wip == 3


def test_the_nodes_death_raises_its_bins_and_plcs_alarms(tmp_path: Path) -> None:
    plant = Plant(tmp_path)
    plant.births(weight_kg=1.5, parts=100)
    death = NDeath(timestamp=None, bd_seq_metric=Metric(timestamp=None, name="bdSeq", datatype=DataType.INT64,
                                                        value=3)).encode()
    assert plant.send("NDEATH", death, T0 + 1, device=None) is True
    assert plant.engine.bin("B1").state.stale
    assert plant.floor.rules.alarms.is_open("press1", "plc_offline")
    plant.ingest.tick(T0 + 20)  # a dead node's values are not repeated
    assert plant.engine.bin("B1").state.stale


@pytest.fixture(scope="module")
def one_plant(tmp_path_factory: pytest.TempPathFactory) -> Plant:
    return Plant(tmp_path_factory.mktemp("sparkplug"))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["NBIRTH", "DBIRTH", "NDATA", "DDATA", "NDEATH", "DDEATH", "NCMD", "STATE"]),
       payload=st.binary(max_size=200), device=st.booleans())
def test_any_payload_is_applied_or_rejected_never_raised(one_plant: Plant, kind: str, payload: bytes,
                                                        device: bool) -> None:
    one_plant.births(weight_kg=1.5, parts=100, now=T0)
    reason = None
    try:
        one_plant.send(kind, payload, T0 + 1, device="d" if device else None)
    except PayloadError as exc:  # what the router dead-letters
        reason = exc.reason
    assert reason in (None, "invalid_sparkplug")
