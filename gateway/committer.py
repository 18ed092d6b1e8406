"""Group commit: effects staged by the hot path are written in one transaction, then their causes acked.

The MQTT handler runs the rules synchronously. When a message causes an effect (a released signal, a
transition, an alarm), its acknowledgement is held until the effect is committed; acknowledgements of
later messages queue behind it, so the broker sees them in arrival order (MQTT 3.1.1 §4.6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

from gateway.card_store import IdempotentAnswer
from gateway.consumption_store import SampleRow
from gateway.mqtt_link import Ack
from gateway.store import Batch, EventPrune, Store, StoreError
from rules.events import Event
from rules.floor import FloorChange
from rules.scale_bin import BinState

log = logging.getLogger(__name__)

_RETRY_S = 1.0


class Committer:
    """Owns the write path to the store. One instance per service; `run` is its task."""

    def __init__(
        self, *, store: Store, executor: Executor, on_committed: Callable[[Batch], None]
    ) -> None:
        self._store = store
        self._executor = executor
        self._on_committed = on_committed
        self._batch = Batch()
        self._acks: list[Ack] = []
        self._waiters: list[asyncio.Future[None]] = []  # resolved when the batch they wait on is committed
        self._in_flight = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.healthy = True
        self.last_error: str | None = None

    def stage_event(self, event: Event, body: dict[str, Any], state: BinState | None = None) -> None:
        """Add an event (and its bin's state, when it changed) to the next transaction."""
        self._batch.events.append((event, body))
        if state is not None:
            self._batch.states[event.bin_id] = state
        self._kick()

    def stage_floor(self, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
        """Add a shop-floor change (events with their bodies, counter and station states) to the next transaction."""
        self._batch.floor.add(change, bodies)
        self._kick()

    def stage_answer(self, answer: IdempotentAnswer) -> None:
        """Keep an API answer (by its `Idempotency-Key`) in the same transaction as its effects."""
        self._batch.answers.append(answer)
        self._kick()

    def stage_samples(self, rows: list[SampleRow], keep_after: float | None) -> None:
        """Add consumption samples (and, when given, the time before which history is deleted) to the next
        transaction."""
        self._batch.samples.extend(rows)
        if keep_after is not None:
            self._batch.keep_samples_after = keep_after
        self._kick()

    def stage_event_prune(self, prune: EventPrune) -> None:
        """Delete old events from the log in the next transaction."""
        self._batch.prune_events = prune
        self._kick()

    async def commit(self) -> None:
        """Wait until everything staged so far is committed: for effects caused by an API call."""
        done = asyncio.get_running_loop().create_future()
        self._waiters.append(done)
        self._kick()
        await done

    def stage_snapshot(
        self, states: dict[str, BinState], rejections: dict[str, int], published: Sequence[int], now: float
    ) -> None:
        """Add a periodic snapshot (levels, counters, what went out on MQTT) to the next transaction."""
        self._batch.states.update(states)
        self._batch.rejections.update(rejections)
        self._batch.published.extend(published)
        self._batch.heartbeat = now
        self._kick()

    def ack(self, ack: Ack, *, held: bool) -> None:
        """Acknowledge now, or after the current effects are committed when `held` or others wait."""
        if held or self._acks or self._in_flight:
            self._acks.append(ack)
        else:
            ack()

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Commit staged batches until cancelled; a failing database is retried, never skipped."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, acks, waiters = self._batch, self._acks, self._waiters
            self._batch, self._acks, self._waiters = Batch(), [], []
            # Later acknowledgements wait only behind acknowledgements held in this batch, so a
            # snapshot-only write never stalls the broker.
            self._in_flight = bool(acks)
            try:
                await self._write(loop, batch)
            finally:
                self._in_flight = False
            for ack in acks:
                ack()
            for done in waiters:
                if not done.done():
                    done.set_result(None)
            self._on_committed(batch)
            if not self._wake.is_set():
                self._flush_acks()
                self._idle.set()

    async def _write(self, loop: asyncio.AbstractEventLoop, batch: Batch) -> None:
        while True:
            try:
                await loop.run_in_executor(self._executor, self._store.write, batch)
            except StoreError as exc:
                if self.healthy:
                    log.error("database write failed, holding acknowledgements and retrying: %s", exc)
                self.healthy, self.last_error = False, str(exc)
                await asyncio.sleep(_RETRY_S)
                continue
            if not self.healthy:
                log.warning("database writes recovered")
            self.healthy, self.last_error = True, None
            return

    def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        for ack in acks:
            ack()

    async def drain(self) -> None:
        """Wait until everything staged so far is committed."""
        if self._batch.events or self._batch.states or self._batch.floor or self._acks:
            self._kick()
        await self._idle.wait()
