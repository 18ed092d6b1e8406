"""A large snapshot is committed in slices, with signals released meanwhile committed between them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway.state.committer import Committer
from gateway.state.snapshots import Snapshots
from gateway.state.store import Batch, Store
from rules.cards import Card
from rules.engine import Engine
from rules.events import SignalReleased
from rules.scale_bin import BinSpec, BinState
from tests.loops import logged

BINS = [f"B{i}" for i in range(2_300)]
SLICE = 500


def spec(bin_id: str) -> BinSpec:
    return BinSpec(
        bin_id=bin_id, unit_weight_g=10, tare_g=0, container_qty=100, cards=2, reorder_point=30, reset_point=60,
        capacity_pieces=200,
    )


def test_a_large_snapshot_is_written_in_slices_and_signals_do_not_wait_for_all_of_it(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = Store(db)
    with sqlite3.connect(db) as conn:  # three events that went out on MQTT, to be recorded as published
        conn.executemany("INSERT INTO events (kind, bin_id, ts, body) VALUES ('x', 'B0', 0, '{}')", [()] * 3)
    engine = Engine(specs=[spec(b) for b in BINS], states={b: BinState(pieces=i) for i, b in enumerate(BINS)},
                    started_at=0.0)
    writer = ThreadPoolExecutor(max_workers=1)
    committed: list[Sequence[Batch]] = []  # the parts of each transaction
    first_slice = asyncio.Event()

    def on_committed(parts: Sequence[Batch]) -> None:
        committed.append(parts)
        first_slice.set()

    recorded: list[int] = []
    sent = [1, 2, 3]

    async def scenario() -> None:
        committer = Committer(store=store, executor=writer, on_committed=on_committed)
        task = asyncio.create_task(committer.run())
        snapshots = Snapshots(
            engine=engine, committer=committer, take_dirty=lambda: range(len(BINS)), rejections={"bad_json": 4},
            take_published=lambda: sent, recorded=recorded.extend, clock=lambda: 9.0, slice_bins=SLICE,
        )
        saving = asyncio.create_task(snapshots.save())
        await first_slice.wait()
        event = SignalReleased("X", "X-1", 1, 1.0, 25, "scale")  # a loop outside the snapshot
        committer.stage_event(*logged(event), BinState(open_cards=(Card(1, "X-1", "released", 1.0),)))
        await committer.commit()
        assert not saving.done()  # the signal is durable before the snapshot has finished
        await saving
        task.cancel()

    asyncio.run(scenario())
    writer.shutdown()
    store.close()

    sizes = [sum(len(part.states) for part in parts) for parts in committed]
    assert max(sizes) <= SLICE + 1  # a slice, plus the state of a bin whose signal shared its transaction
    batches = [part for parts in committed for part in parts]
    assert sum(1 for batch in batches if batch.heartbeat is not None) == 5  # 2,300 bins in slices of 500
    assert recorded == [1, 2, 3]
    with sqlite3.connect(db) as conn:
        pieces = dict(conn.execute("SELECT bin_id, pieces FROM bin_state").fetchall())
        published = [row[0] for row in conn.execute("SELECT seq FROM events WHERE published = 1 ORDER BY seq")]
        rejections = conn.execute("SELECT reason, count FROM rejections").fetchall()
    assert pieces == {b: i for i, b in enumerate(BINS)} | {"X": None}
    assert published == [1, 2, 3]
    assert [batch.events[0][0].signal_id for batch in batches if batch.events] == ["X-1"]
    assert rejections == [("bad_json", 4)]
