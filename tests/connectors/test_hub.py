"""Committed events reach the outbox once each, also those committed just before a crash."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

from config.plant import PlantConfig
from connectors.hub import Connectors
from gateway.messages import event_body
from gateway.state.store import Batch, Store
from rules.engine import Engine
from rules.events import SensorStale, SignalReleased
from tests.loops import loop_info

CTX = loop_info(sku="BOLT", line="L1", station="S1", supplier="acme", quantity=100)


def plant(tmp_path: Path) -> PlantConfig:
    return PlantConfig.model_validate({
        "site": "p7",
        "storage": {"path": str(tmp_path / "state.db")},
        "suppliers": [{"id": "acme", "name": "ACME", "lead_time_h": 1, "webhook": {
            "url": "http://127.0.0.1:9/", "secret": "0123456789abcdef", "retry_initial_s": 60}}],
        "items": [{"sku": "BOLT", "unit_weight_g": 10, "supplier": "acme"}],
        "bins": [{"id": "B1", "sku": "BOLT", "line": "L1", "station": "S1", "container_qty": 100,
                  "reorder_point": 30}],
    })


def commit(store: Store, n: int, first: int) -> list[dict[str, Any]]:
    """Commit `n` signal releases and one stale alarm; returns their bodies with `seq`."""
    batch = Batch()
    for i in range(first, first + n):
        event = SignalReleased("B1", f"B1-{i}", 1, 1000.0 + i, 20, "scale")
        batch.events.append((event, event_body(event, CTX, "p7")))
    stale = SensorStale("B1", 2000.0, None)
    batch.events.append((stale, event_body(stale, CTX, "p7")))
    store.write(batch)
    return [body for _, body in batch.events]


def keys_after_running(config: PlantConfig, store: Store, fed: list[dict[str, Any]]) -> list[str]:
    """Start the connectors, feed `fed`, wait until the outbox is caught up; the outbox's keys."""
    engine = Engine(specs=config.bin_specs(), started_at=0.0)
    connectors = Connectors(
        config=config, loops=engine.specs, event_log=store, engine=engine, rejections={}, clock=lambda: 5000.0
    )
    assert connectors.outbox is not None

    async def scenario() -> None:
        task = asyncio.create_task(connectors.run())
        connectors.feed(fed)
        async with asyncio.timeout(20):  # a failure here should fail the test, not hang it
            while connectors.fed_seq < store.last_event_seq():  # polled: the connectors signal nothing
                if task.done():
                    task.result()  # raises what stopped the connectors
                    raise AssertionError("the connectors stopped before the outbox caught up")
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    keys = [i.key for i in connectors.outbox.oldest("webhook:acme", 100)]
    connectors.close()
    return keys


def test_new_outbox_starts_now_and_a_restart_feeds_what_was_committed_but_not_fed(tmp_path: Path) -> None:
    config = plant(tmp_path)
    store = Store(config.storage.path)
    commit(store, 2, first=1)  # seq 1-3: before the outbox existed, not sent
    assert keys_after_running(config, store, []) == []

    lost = commit(store, 2, first=3)  # seq 4-6: committed, then the process died before feeding them
    fresh = commit(store, 1, first=5)  # seq 7-8: fed as usual (with a repeat of seq 6)
    assert keys_after_running(config, store, [lost[-1], *fresh]) == ["p7:4", "p7:5", "p7:7"]  # alarms go to nobody
    assert keys_after_running(config, store, fresh) == ["p7:4", "p7:5", "p7:7"]
    store.close()


def test_without_consumers_the_event_log_waits_for_nothing(tmp_path: Path) -> None:
    config = plant(tmp_path).model_copy(update={"suppliers": []})
    store = Store(config.storage.path)
    engine = Engine(specs=config.bin_specs(), started_at=0.0)
    connectors = Connectors(
        config=config, loops=engine.specs, event_log=store, engine=engine, rejections={}, clock=lambda: 5000.0,
    )
    assert connectors.outbox is None
    assert connectors.fed_seq == sys.maxsize  # pruning of the event log is held back by nothing
    store.close()
