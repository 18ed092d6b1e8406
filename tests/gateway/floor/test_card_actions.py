"""Lifecycle actions from the API: committed before the answer, idempotent by key, refused with a reason."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.floor.card_actions import ActionRequest, CardActions, TransitionRefusedError
from gateway.state.committer import Committer
from gateway.state.store import Batch, Store
from rules.cards import Action
from rules.engine import Engine
from rules.events import SignalReleased
from rules.scale_bin import BinSpec, Reading
from tests.loops import logged, loop_info

CTX = {
    "B1": loop_info(sku="A", line="L1", station="S1", supplier="acme", quantity=100),
    "GONE": loop_info(sku="A", line="L1", station="S9", supplier="acme", quantity=100),
}
SPEC = BinSpec(bin_id="B1", unit_weight_g=10.0, tare_g=0.0, container_qty=100, cards=1, reorder_point=30,
               reset_point=60, capacity_pieces=100)


def run(tmp_path: Path, requests: list[ActionRequest]) -> tuple[list[object], Store]:
    store = Store(tmp_path / "s.db")
    store.write(Batch(events=[logged(SignalReleased("GONE", "GONE-1", 1, 1.0, 10, "scale"), CTX["GONE"])]))
    engine = Engine(specs=[SPEC], started_at=0.0)
    _, events = engine.bin("B1").on_reading(Reading(200.0, 5.0), 5.0)  # 20 pieces: B1-1 released

    async def scenario() -> list[object]:
        committer = Committer(store=store, executor=ThreadPoolExecutor(max_workers=1), on_committed=lambda b: None)
        task = asyncio.create_task(committer.run())
        committer.stage_event(*logged(events[0], CTX["B1"]), engine.state_copy("B1"))
        await committer.commit()
        actions = CardActions(engine=engine, store=store, committer=committer, site="s", clock=lambda: 10.0)
        answers = await asyncio.gather(*(actions.apply(r) for r in requests), return_exceptions=True)
        task.cancel()
        return list(answers)

    return asyncio.run(scenario()), store


def test_concurrent_calls_with_one_key_make_one_transition_and_one_answer(tmp_path: Path) -> None:
    req = ActionRequest(signal_id="B1-1", action="ship", by="acme", idempotency_key="k", quantity=90)
    first, second = run(tmp_path, [req, req])[0]
    assert isinstance(first, dict)
    assert first == second
    assert (first["status"], first["shipped_qty"]) == ("shipped", 90)
    assert [t["kind"] for t in first["transitions"]] == ["signal_released", "signal_shipped"]


def test_a_signal_of_a_loop_no_longer_configured_is_refused(tmp_path: Path) -> None:
    [answer], store = run(tmp_path, [ActionRequest(signal_id="GONE-1", action="receive", by="api")])
    assert isinstance(answer, TransitionRefusedError)
    assert str(answer) == "cannot receive signal GONE-1: loop GONE is no longer configured"
    row = store.signal("GONE-1")
    assert row is not None
    assert row["status"] == "released"


def test_shipping_defaults_to_the_container_quantity(tmp_path: Path) -> None:
    [answer], _ = run(tmp_path, [ActionRequest(signal_id="B1-1", action="ship", by="acme")])
    assert isinstance(answer, dict)
    assert answer["shipped_qty"] == 100


@pytest.mark.parametrize("action", ["acknowledge", "cancel"])
def test_each_answer_is_the_committed_signal(tmp_path: Path, action: Action) -> None:
    [answer], store = run(tmp_path, [ActionRequest(signal_id="B1-1", action=action, by="erp")])
    assert answer == store.signal("B1-1")
