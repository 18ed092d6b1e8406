"""Which committed events a delivery target gets, and the fields its templates will see."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from config.plant import PlantConfig
from connectors.hub import Connectors
from gateway.messages import event_body
from gateway.state.store import Batch, Store
from rules.engine import Engine
from rules.events import SignalChanged, SignalReleased

CREATE = {"url": "http://127.0.0.1:9/{{ sku }}", "body": '{"id": {{ signal_id | tojson }}}'}


class NoDocuments:
    """The service's documents, empty: these tests never deliver."""

    def document(self, signal_id: str, target: str) -> tuple[str, bool] | None:
        return None

    async def record(self, *, signal_id: str, target: str, document_id: str, cancelled: bool) -> None:
        raise AssertionError("nothing is delivered here")


def plant(tmp_path: Path) -> PlantConfig:
    bins = [{"id": bin_id, "sku": sku, "line": "L1", "station": "S1", "container_qty": 100, "reorder_point": 30}
            for bin_id, sku in (("B1", "BOLT"), ("B2", "BOLT"), ("C1", "CLIP"))]
    return PlantConfig.model_validate({
        "site": "p7", "storage": {"path": str(tmp_path / "state.db")},
        "suppliers": [{"id": "acme", "name": "ACME", "lead_time_h": 24}, {"id": "wh", "name": "WH", "lead_time_h": 2}],
        "items": [{"sku": "BOLT", "description": "Bolt", "unit_weight_g": 10, "supplier": "acme"},
                  {"sku": "CLIP", "unit_weight_g": 10, "supplier": "wh"}],
        "bins": bins,
        "targets": [
            {"id": "erp", "suppliers": ["acme"], "create": CREATE, "cancel": CREATE, "retry_initial_s": 3600},
            {"id": "mes", "create": CREATE, "retry_initial_s": 3600},
        ],
    })


def outbox_after(config: PlantConfig, store: Store, events: list[Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Start the connectors, commit and feed `events`; the targets' items."""
    engine = Engine(specs=config.bin_specs(), started_at=0.0)
    connectors = Connectors(config=config, loops=engine.specs, event_log=store, engine=engine, rejections={},
                            clock=lambda: 5000.0, documents=NoDocuments())
    assert connectors.outbox is not None
    connectors.outbox.append([], fed_seq=store.last_event_seq())  # the outbox takes what is committed from now on

    async def scenario() -> None:
        task = asyncio.create_task(connectors.run())
        batch = Batch(events=[(e, event_body(e, engine.specs[e.bin_id], "p7")) for e in events])
        store.write(batch)
        connectors.feed([body for _, body in batch.events])
        async with asyncio.timeout(20):  # a failure here should fail the test, not hang it
            while connectors.fed_seq < store.last_event_seq():  # polled: the connectors signal nothing
                if task.done():
                    task.result()  # raises what stopped the connectors
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    items = {consumer: [(i.kind, json.loads(i.payload)) for i in connectors.outbox.oldest(consumer, 10)]
             for consumer in ("target:erp", "target:mes")}
    connectors.close()
    return items


def test_targets_get_their_suppliers_events_with_fields_and_not_what_they_caused(tmp_path: Path) -> None:
    config = plant(tmp_path)
    store = Store(config.storage.path)
    items = outbox_after(config, store, [
        SignalReleased("B1", "B1-1", 1, 1000.0, 25, "scale"), SignalReleased("C1", "C1-1", 1, 1001.0, 25, "scale"),
        SignalChanged("B1", "B1-1", 1, 1002.0, "signal_cancelled", "api", pieces=25),
        SignalReleased("B2", "B2-1", 1, 1003.0, 25, "scale"),
        SignalChanged("B2", "B2-1", 1, 1004.0, "signal_cancelled", "erp", pieces=25),  # the ERP cancelled it
    ])
    store.close()
    assert [(kind, f["signal_id"]) for kind, f in items["target:erp"]] == [
        ("signal_released", "B1-1"), ("signal_cancelled", "B1-1"), ("signal_released", "B2-1")]  # acme's loops
    assert [(kind, f["signal_id"]) for kind, f in items["target:mes"]] == [
        ("signal_released", "B1-1"), ("signal_released", "C1-1"), ("signal_released", "B2-1")]  # it cancels nothing
    released, cancelled = (f for _, f in items["target:erp"][:2])
    assert {k: released[k] for k in ("event_id", "loop", "sku", "description", "supplier", "supplier_name",
                                     "quantity", "pieces", "time", "due_by")} == {
        "event_id": "p7:1", "loop": "B1", "sku": "BOLT", "description": "Bolt", "supplier": "acme",
        "supplier_name": "ACME", "quantity": 100, "pieces": 25, "time": "1970-01-01T00:16:40.000Z",
        "due_by": "1970-01-02T00:16:40.000Z"}
    # A cancellation's event names only the signal: the loop's record completes it.
    assert (cancelled["sku"], cancelled["supplier"], cancelled["by"]) == ("BOLT", "acme", "api")
