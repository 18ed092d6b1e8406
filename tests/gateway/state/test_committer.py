"""Acknowledgements wait for the commit of their effects, and go out in arrival order."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gateway.state.committer import Committer, EffectRefusedError, Request
from gateway.state.store import Batch, Store
from rules.cards import Card
from rules.events import SignalReleased
from rules.floor import FloorChange
from rules.scale_bin import BinState
from rules.stations import StationState
from tests.loops import logged, loop_info

CTX = {"B1": loop_info(sku="A", line="L1", station="S1", supplier=None, quantity=100)}


def committed_signals(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM signals")]


def run_scenario(tmp_path: Path, *, held_first: bool) -> tuple[list[tuple[str, bool]], list[list[str]]]:
    """Stage (optionally) a signal with a held ack, then two plain acks, while the writer is blocked."""
    db = tmp_path / "state.db"
    store = Store(db)
    writer = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    sent: list[tuple[str, bool]] = []  # (ack, whether the blocked write had been released by then)
    seen_in_db: list[list[str]] = []

    def ack(name: str) -> None:
        sent.append((name, gate.is_set()))
        seen_in_db.append(committed_signals(db))

    async def scenario() -> None:
        committer = Committer(store=store, executor=writer, on_committed=lambda batch: None)
        task = asyncio.create_task(committer.run())
        writer.submit(gate.wait)  # the disk is slow: the next write waits behind this
        if held_first:
            event = SignalReleased("B1", "B1-1", 1, 1.0, 25, "scale")
            card = Card(1, "B1-1", "released", 1.0)
            committer.stage_event(*logged(event, CTX["B1"]), BinState(depth=1, open_cards=(card,)))
            committer.ack(lambda: ack("causing"), held=True)
        else:
            committer.stage_snapshot({"B1": BinState(pieces=80)}, {}, [], 1.0)
        await asyncio.sleep(0.05)  # the committer has taken the batch and is writing it
        committer.ack(lambda: ack("later-1"), held=False)
        committer.ack(lambda: ack("later-2"), held=False)
        gate.set()
        await committer.drain()
        task.cancel()

    asyncio.run(scenario())
    writer.shutdown()
    store.close()
    return sent, seen_in_db


def test_ack_of_a_signal_waits_for_its_commit_and_later_acks_queue_behind_it(tmp_path: Path) -> None:
    sent, seen_in_db = run_scenario(tmp_path, held_first=True)
    assert sent == [("causing", True), ("later-1", True), ("later-2", True)]
    assert seen_in_db[0] == ["B1-1"]  # the signal was durable when its cause was acknowledged


def test_a_snapshot_being_written_does_not_hold_plain_acks(tmp_path: Path) -> None:
    sent, _ = run_scenario(tmp_path, held_first=False)
    assert sent == [("later-1", False), ("later-2", False)]  # sent while the write was still blocked


def test_commit_returns_only_once_the_staged_event_is_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    writer = ThreadPoolExecutor(max_workers=1)
    gate = threading.Event()
    seen: list[list[str]] = []

    async def scenario() -> None:
        committer = Committer(store=store, executor=writer, on_committed=lambda batch: None)
        task = asyncio.create_task(committer.run())
        writer.submit(gate.wait)  # a slow disk: the commit cannot finish before the gate opens
        event = SignalReleased("B1", "B1-1", 1, 1.0, 25, "scale")
        committer.stage_event(*logged(event, CTX["B1"]))
        waiting = asyncio.create_task(committer.commit())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        gate.set()
        await asyncio.wait_for(waiting, timeout=5)
        seen.append(committed_signals(db))
        task.cancel()

    asyncio.run(scenario())
    writer.shutdown()
    store.close()
    assert seen == [["B1-1"]]


def test_an_effect_the_database_cannot_take_is_refused_to_its_cause_alone_and_the_committer_goes_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    writer = ThreadPoolExecutor(max_workers=1)
    refused: list[tuple[tuple[str, bytes], str]] = []
    committed: list[Batch] = []
    acked: list[str] = []
    bad_message = ("kanban/t/plc/P1/in", b'{"value": 7}')

    async def scenario() -> None:
        committer = Committer(
            store=store, executor=writer, on_committed=committed.extend,
            on_refused=lambda message, reason: refused.append((message, reason)),
        )
        task = asyncio.create_task(committer.run())
        # Three causes in one transaction: a message whose effect SQLite cannot hold (a WIP past 2**63),
        # a message releasing a signal, and an API call whose effect cannot be held either.
        committer.origin = bad_message
        committer.stage_floor(FloorChange(stations={"S1": StationState(wip=2**63)}), [])
        committer.origin = None
        committer.ack(lambda: acked.append("bad"), held=True)
        committer.origin = ("kanban/t/scale/B1", b"250")
        event = SignalReleased("B1", "B1-1", 1, 1.0, 25, "scale")
        state = BinState(depth=1, open_cards=(Card(1, "B1-1", "released", 1.0),))
        committer.stage_event(*logged(event, CTX["B1"]), state)
        committer.origin = None
        committer.ack(lambda: acked.append("good"), held=True)
        call = Request("POST /api/v1/stations/S2/wip")
        with committer.staging_for(call):
            committer.stage_floor(FloorChange(stations={"S2": StationState(wip=2**64)}), [])
        with pytest.raises(EffectRefusedError, match="OverflowError"):
            await committer.commit(call)
        # The committer is still running: the next effect of the same station commits.
        committer.stage_floor(FloorChange(stations={"S1": StationState(wip=5)}), [])
        await committer.commit()
        assert not task.done()
        task.cancel()

    asyncio.run(scenario())
    writer.shutdown()
    assert [(message, reason.split(":")[0]) for message, reason in refused] == [(bad_message, "OverflowError")]
    assert acked == ["bad", "good"]  # a refused message is acknowledged too, so it is never redelivered
    assert committed_signals(db) == ["B1-1"]
    assert [event.signal_id for part in committed for event, _ in part.events] == ["B1-1"]  # only what committed
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT station_id, wip FROM station_state").fetchall() == [("S1", 5)]
    store.close()
