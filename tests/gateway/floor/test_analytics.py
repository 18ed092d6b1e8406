"""Loop analytics from a real store: figures computed by hand from the samples and signals written."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from config.plant import PlantConfig
from gateway.floor.analytics import LoopAnalytics
from gateway.state.committer import Committer
from gateway.state.store import Batch, Store
from rules.analytics import DAY_S, HOUR_S
from rules.engine import Engine
from rules.events import SignalChanged, SignalReleased
from rules.scale_bin import BinState, Reading
from tests.loops import logged, loop_info

D0 = 20_000 * DAY_S  # midnight UTC
CTX = {"B1": loop_info(sku="BOLT", line="L1", station="S1", supplier="acme", quantity=100)}


def plant(tmp_path: Path) -> PlantConfig:
    return PlantConfig.model_validate({
        "site": "p1",
        "storage": {"path": str(tmp_path / "state.db")},
        "analytics": {"safety_factor": 0.2, "half_life_h": 2},
        "suppliers": [{"id": "acme", "name": "ACME", "lead_time_h": 24}],
        "items": [{"sku": "BOLT", "unit_weight_g": 10, "supplier": "acme"}],
        "bins": [{"id": "B1", "sku": "BOLT", "line": "L1", "station": "S1", "container_qty": 100,
                  "reorder_point": 30}],
    })


@pytest.fixture
def analytics(tmp_path: Path) -> LoopAnalytics:
    config = plant(tmp_path)
    store = Store(config.storage.path)
    # Four days of hourly samples, 5 pieces an hour, 50 pieces in the bin.
    rows = [("B1", D0 + h * HOUR_S, 5 * h, 50) for h in range(96)]
    events = []
    for n, wait_h in ((1, 20), (2, 30)):  # received 20 h and 30 h after release; 24 h promised
        released = D0 + n * DAY_S
        events += [
            SignalReleased("B1", f"B1-{n}", 1, released, 30, "scale"),
            SignalChanged("B1", f"B1-{n}", 1, released + wait_h * HOUR_S, "signal_received", "api"),
        ]
    store.write(Batch(events=[logged(e, CTX["B1"]) for e in events], samples=rows))
    engine = Engine(specs=config.bin_specs(), states={"B1": BinState(consumed=5 * 96)}, started_at=D0)
    engine.bin("B1").on_reading(Reading(50 * 10.0, D0 + 96 * HOUR_S), D0 + 96 * HOUR_S)  # 50 pieces, no tare
    committer = Committer(store=store, executor=ThreadPoolExecutor(max_workers=1), on_committed=lambda batch: None)
    return LoopAnalytics(config=config, engine=engine, store=store, committer=committer,
                         clock=lambda: D0 + 96 * HOUR_S)


def test_loop_report(analytics: LoopAnalytics) -> None:
    report = analytics.report("B1")
    assert report["samples"] == 97  # 96 stored and the live state now
    assert report["consumption_rate_per_h"] == pytest.approx(5.0)
    assert report["time_to_empty_h"] == pytest.approx(10.0)  # 50 pieces at 5 an hour
    assert report["daily_usage"] == {"days": 3, "avg": 120, "max": 120}  # days 2 to 4 are whole
    assert report["lead_time_h"] == {"promised": 24.0, "measured": 25.0}
    # N = ⌈5/h × 25 h × 1.2 / 100⌉ = ⌈1.5⌉ = 2; no spread in daily usage: no safety stock; ROP = 120 × 25/24.
    assert report["recommended"] == {
        "demand_per_h": 5.0, "lead_time_h": 25.0, "cards": 2, "safety_stock_peak": 0.0,
        "safety_stock_service": 0.0, "reorder_point_peak": 125, "reorder_point_service": 125,
    }
    assert report["kpis"] == {
        "stockouts": 0, "stockout_minutes": 0.0, "received": 2, "on_time_rate": 0.5,
        "avg_signal_to_receipt_h": 25.0, "cards_per_day": 0.5,  # 2 signals over the 4 days sampled
    }


def test_kpis_per_loop_and_supplier(analytics: LoopAnalytics) -> None:
    kpis = analytics.all_kpis()
    assert kpis["loops"]["B1"]["on_time_rate"] == 0.5
    assert kpis["suppliers"]["acme"]["received"] == 2
    assert kpis["suppliers"]["acme"]["avg_signal_to_receipt_h"] == 25.0


def test_sampling_many_loops_commits_them_in_slices(tmp_path: Path) -> None:
    """Thousands of changed loops are sampled in several small transactions, not one that signals wait behind."""
    ids = [f"B{i}" for i in range(1_200)]
    config = PlantConfig.model_validate({
        "site": "p1",
        "storage": {"path": str(tmp_path / "state.db")},
        "items": [{"sku": "BOLT", "unit_weight_g": 10}],
        "bins": [{"id": b, "sku": "BOLT", "line": "L1", "station": "S1", "container_qty": 100, "reorder_point": 30}
                 for b in ids],
    })
    store = Store(config.storage.path)
    engine = Engine(specs=config.bin_specs(), states={b: BinState(pieces=i) for i, b in enumerate(ids)},
                    started_at=D0)
    writer = ThreadPoolExecutor(max_workers=1)
    committed: list[Batch] = []
    committer = Committer(store=store, executor=writer, on_committed=committed.extend)
    analytics = LoopAnalytics(config=config, engine=engine, store=store, committer=committer, clock=lambda: D0)

    async def scenario() -> None:
        task = asyncio.create_task(committer.run())
        await analytics.sample(D0)
        await analytics.sample(D0 + 60)  # nothing changed: no rows
        task.cancel()

    asyncio.run(scenario())
    writer.shutdown()
    sizes = [len(batch.samples) for batch in committed if batch.samples]
    assert sizes == [500, 500, 200]
    assert [(s.ts, s.pieces) for s in store.samples("B1199", D0 - 1)] == [(D0, 1199)]
    store.close()
