"""The live event stream's fan-out: frames, filters, resume from a real event log, overflow, shutdown."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from gateway.api.event_stream import KEEPALIVE, KEEPALIVE_S, EventStream, ReadLog, Wanted
from gateway.state.store import Batch, EventPrune, Store
from rules.events import Event, SensorRecovered, SensorStale
from tests.loops import loop_info

Stream = AsyncIterator[bytes]
LOOPS = {
    "B1": loop_info(sku="A", quantity=100, supplier=None, line="L1", station="S1"),
    "B2": loop_info(sku="A", quantity=100, supplier=None, line="L2", station="S2"),
}
Message = tuple[str | None, str, dict[str, Any]]


def parse(data: bytes) -> list[Message]:
    """(id, event, data) of each SSE message in `data`."""
    messages = []
    for block in data.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            messages.append((fields.get("id"), fields["event"], json.loads(fields["data"])))
    return messages


def stream_on(
    store: Store, *, max_queued: int = 100, read_log: ReadLog | None = None, keepalive_s: float = KEEPALIVE_S
) -> EventStream:
    """The service's stream over this store's event log (or `read_log` in its place)."""
    return EventStream(
        loops=LOOPS, read_log=read_log or store.events_after, newest=store.last_event_seq, max_queued=max_queued,
        keepalive_s=keepalive_s,
    )


def commit(store: Store, count: int, first: int = 0, bin_id: str = "B1") -> list[dict[str, Any]]:
    """Commit `count` events alternating sensor_stale / sensor_recovered; their bodies with `seq`."""
    events: list[Event] = [
        SensorStale(bin_id, float(i), None) if i % 2 == 0 else SensorRecovered(bin_id, float(i))
        for i in range(first, first + count)
    ]
    batch = Batch(events=[(e, {"type": e.kind, "bin_id": e.bin_id, "ts": e.ts}) for e in events])
    store.write(batch)
    return [body for _, body in batch.events]


async def started(stream: EventStream, body: Stream, clients: int = 1) -> asyncio.Task[bytes]:
    """The client's first read, running; returns once the client is registered."""
    first: asyncio.Task[bytes] = asyncio.create_task(anext(body))  # type: ignore[arg-type]
    while stream.clients < clients and not first.done():  # noqa: ASYNC110 -- it registers when its task runs
        await asyncio.sleep(0)
    return first


async def read_until(body: Stream, first: asyncio.Task[bytes], count: int) -> list[Message]:
    """Messages (keep-alives left out) until `count` have arrived."""
    messages = parse(await asyncio.wait_for(first, 5))
    while len(messages) < count:
        messages += parse(await asyncio.wait_for(anext(body), 5))  # type: ignore[arg-type]
    return messages


class Log:
    """The store's event log as the stream reads it (in a worker thread); `first_read` stands in for the
    first read. Counts the reads that found nothing more."""

    def __init__(self, store: Store, first_read: Callable[[int, int], list[tuple[int, str]]]) -> None:
        self.store, self.first_read = store, first_read
        self.reads, self.empty = 0, 0

    def read(self, after: int, limit: int) -> list[tuple[int, str]]:
        self.reads += 1
        rows = self.first_read(after, limit) if self.reads == 1 else self.store.events_after(after, limit)
        self.empty += not rows
        return rows

    async def reads_found_nothing(self, count: int) -> None:
        deadline = time.monotonic() + 5
        while self.empty < count:
            assert time.monotonic() < deadline, f"the stream read the log {self.reads} times, {self.empty} empty"
            await asyncio.sleep(0.01)


def in_loop(loop: asyncio.AbstractEventLoop, publish: Callable[[list[dict[str, Any]]], None]
            ) -> Callable[[list[dict[str, Any]]], None]:
    """`publish` made callable from another thread: it runs on `loop`, as commits do; returns once it ran."""

    def call(bodies: list[dict[str, Any]]) -> None:
        done = threading.Event()

        def publish_now() -> None:
            publish(bodies)
            done.set()

        loop.call_soon_threadsafe(publish_now)
        assert done.wait(5)

    return call


def run(tmp_path: Path, scenario: Callable[[Store], Coroutine[Any, Any, None]]) -> None:
    store = Store(tmp_path / "state.db")
    try:
        asyncio.run(scenario(store))
    finally:
        store.close()


def test_live_client_gets_events_committed_after_it_connected_as_sse_messages(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        stream.publish(commit(store, 2))  # before the client: not sent
        body = stream.stream(after=None, wanted=Wanted())
        first = await started(stream, body)
        bodies = commit(store, 3, first=2)
        stream.publish(bodies)
        messages = await read_until(body, first, 3)
        assert messages == [(str(b["seq"]), b["type"], b) for b in bodies]
        assert [m[0] for m in messages] == ["3", "4", "5"]

    run(tmp_path, scenario)


def test_type_filter_sends_only_the_listed_types(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        stream.publish(commit(store, 4))
        body = stream.stream(after=0, wanted=Wanted(types=frozenset({"sensor_recovered"})))
        first = await started(stream, body)
        stream.publish(commit(store, 2, first=4))
        messages = await read_until(body, first, 3)
        assert [(m[0], m[1]) for m in messages] == [
            ("2", "sensor_recovered"), ("4", "sensor_recovered"), ("6", "sensor_recovered")
        ]

    run(tmp_path, scenario)


def test_line_filter_goes_by_the_events_line_or_its_loops(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        stream.publish(commit(store, 1, bin_id="B2"))
        body = stream.stream(after=0, wanted=Wanted(lines=frozenset({"L2"})))
        first = await started(stream, body)
        stream.publish(commit(store, 1, first=1, bin_id="B1"))
        stream.publish(commit(store, 1, first=2, bin_id="B2"))
        stream.publish([{"type": "andon_changed", "line": "L2", "station": "S9", "seq": 10},
                        {"type": "alarm_raised", "plc": "P1", "seq": 11}])  # a PLC belongs to no line
        messages = await read_until(body, first, 3)
        assert [(m[0], m[1]) for m in messages] == [
            ("1", "sensor_stale"), ("3", "sensor_stale"), ("10", "andon_changed")
        ]

    run(tmp_path, scenario)


def test_resume_sends_the_logged_events_after_the_id_then_live_ones(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        stream.publish(commit(store, 5))
        body = stream.stream(after=2, wanted=Wanted())
        first = await started(stream, body)
        stream.publish(commit(store, 2, first=5))
        messages = await read_until(body, first, 5)
        assert [m[0] for m in messages] == ["3", "4", "5", "6", "7"]
        assert messages[0][2] == {"type": "sensor_stale", "bin_id": "B1", "ts": 2.0, "seq": 3}

    run(tmp_path, scenario)


def test_resume_across_pruned_events_says_which_are_gone(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        commit(store, 6)  # seqs 1-6 at ts 0-5
        store.write(Batch(published=[1, 2, 3, 5, 6]))
        store.write(Batch(prune_events=EventPrune(before=4.5, up_to=6)))  # 1-3 and 5 go, 4 was never published
        body = stream.stream(after=1, wanted=Wanted())
        messages = await read_until(body, await started(stream, body), 4)
        assert [(m[0], m[1]) for m in messages] == [(None, "gap"), ("4", "sensor_recovered"), (None, "gap"),
                                                    ("6", "sensor_recovered")]
        assert (messages[0][2]["first_missing"], messages[0][2]["last_missing"]) == (2, 3)
        assert (messages[2][2]["first_missing"], messages[2][2]["last_missing"]) == (5, 5)

    run(tmp_path, scenario)


def test_events_committed_while_the_backlog_is_read_come_once_and_in_order(tmp_path: Path) -> None:
    """One event is committed and published before the log read (it is in both), one after (queue only)."""

    async def scenario(store: Store) -> None:
        def first_read(after: int, limit: int) -> list[tuple[int, str]]:
            publish(commit(store, 1, first=3))  # seq 4: in the log and in the queue
            rows = store.events_after(after, limit)
            publish(commit(store, 1, first=4))  # seq 5: committed after this read
            return rows

        log = Log(store, first_read)
        stream = stream_on(store, read_log=log.read)
        publish = in_loop(asyncio.get_running_loop(), stream.publish)
        stream.publish(commit(store, 3))
        body = stream.stream(after=0, wanted=Wanted())
        first = await started(stream, body)
        messages = await read_until(body, first, 5)
        live = asyncio.create_task(anext(body))  # type: ignore[arg-type]
        await log.reads_found_nothing(1)  # the backlog is done: from here the client is live
        stream.publish(commit(store, 1, first=5))
        messages += parse(await asyncio.wait_for(live, 5))
        assert [m[0] for m in messages] == ["1", "2", "3", "4", "5", "6"]

    run(tmp_path, scenario)


def test_a_client_too_far_behind_gets_overflow_and_is_dropped(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store, max_queued=3)
        slow = stream.stream(after=None, wanted=Wanted())
        first_slow = await started(stream, slow)
        fast = stream.stream(after=None, wanted=Wanted())
        first_fast = await started(stream, fast, clients=2)
        stream.publish(commit(store, 2))
        assert [m[0] for m in await read_until(fast, first_fast, 2)] == ["1", "2"]
        assert [m[0] for m in parse(await first_slow)] == ["1", "2"]
        # From here the slow client takes nothing (its server is still sending it the first two).
        next_fast = await started(stream, fast, clients=2)
        stream.publish(commit(store, 4, first=2))  # a batch above the limit reaches a client that keeps up
        assert [m[0] for m in await read_until(fast, next_fast, 4)] == ["3", "4", "5", "6"]
        next_fast = await started(stream, fast, clients=2)
        stream.publish(commit(store, 1, first=6))  # the slow client still has four waiting
        assert stream.clients == 1
        messages = parse(await asyncio.wait_for(anext(slow), 5))  # type: ignore[arg-type]
        assert [(m[0], m[1]) for m in messages] == [(None, "overflow")]
        assert messages[0][2]["last_event_id"] == 2
        assert "Last-Event-ID: 2" in messages[0][2]["message"]
        assert stream.overflows == 1  # counted when dropped
        with pytest.raises(StopAsyncIteration):
            await anext(slow)  # type: ignore[arg-type]
        assert [m[0] for m in await read_until(fast, next_fast, 1)] == ["7"]

    run(tmp_path, scenario)


def test_overflow_while_the_backlog_is_read_is_made_good_from_the_log(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        def first_read(after: int, limit: int) -> list[tuple[int, str]]:
            publish(commit(store, 4, first=2))
            publish(commit(store, 1, first=6))  # four still waiting: the queue overflows while the client replays
            return store.events_after(after, limit)

        log = Log(store, first_read)
        stream = stream_on(store, max_queued=3, read_log=log.read)
        publish = in_loop(asyncio.get_running_loop(), stream.publish)
        stream.publish(commit(store, 2))
        body = stream.stream(after=0, wanted=Wanted())
        first = await started(stream, body)
        messages = await read_until(body, first, 7)
        live = asyncio.create_task(anext(body))  # type: ignore[arg-type]
        await log.reads_found_nothing(2)  # the log was read again after the overflow: the client is live
        stream.publish(commit(store, 1, first=7))
        messages += parse(await asyncio.wait_for(live, 5))
        assert [m[0] for m in messages] == [str(seq) for seq in range(1, 9)]
        assert stream.overflows == 0

    run(tmp_path, scenario)


def test_an_idle_stream_sends_keepalive_comments(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store, max_queued=3, keepalive_s=0.01)
        body = stream.stream(after=None, wanted=Wanted())
        assert await asyncio.wait_for(anext(body), 5) == KEEPALIVE  # type: ignore[arg-type]

    run(tmp_path, scenario)


def test_close_ends_open_and_later_streams_and_disconnects_unregister(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        stream = stream_on(store, max_queued=3)
        gone = stream.stream(after=None, wanted=Wanted())
        first_gone = await started(stream, gone)
        first_gone.cancel()  # the client disconnected: the server cancels its response
        with pytest.raises(asyncio.CancelledError):
            await first_gone
        assert stream.clients == 0
        body = stream.stream(after=None, wanted=Wanted())
        first = await started(stream, body)
        stream.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(first, 5)
        assert stream.clients == 0
        with pytest.raises(StopAsyncIteration):
            await anext(stream.stream(after=0, wanted=Wanted()))  # type: ignore[arg-type]

    run(tmp_path, scenario)


def test_resume_from_an_id_the_log_never_reached_says_the_log_restarted(tmp_path: Path) -> None:
    """A new state database: its seqs start again below the client's id, which would otherwise wait for
    them to catch up and miss everything until then."""

    async def scenario(store: Store) -> None:
        stream = stream_on(store)
        stream.publish(commit(store, 3))
        body = stream.stream(after=1000, wanted=Wanted())
        first = await started(stream, body)
        stream.publish(commit(store, 2, first=3))
        messages = await read_until(body, first, 3)
        assert (messages[0][1], messages[0][2]["last_event_id"]) == ("reset", 3)
        assert [m[0] for m in messages[1:]] == ["4", "5"]

    run(tmp_path, scenario)
