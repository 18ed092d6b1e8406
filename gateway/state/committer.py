"""Group commit: effects staged by the hot path are written in one transaction, then their causes acked.

The MQTT handler runs the rules synchronously. When a message causes an effect (a released signal, a
transition, an alarm), its acknowledgement is held until the effect is committed; acknowledgements of
later messages queue behind it, so the broker sees them in arrival order (MQTT 3.1.1 §4.6).

Fault containment: each staging call is recorded with its cause (a message, an API call, the service's own
work). When the database refuses something in a transaction (its data, not the disk), the transaction is
written again as a part per cause, each in a savepoint of its own: a part the database cannot take is rolled
back alone and refused to its cause (the message is dead-lettered as `unstorable` and acknowledged, the API
call answers 422), and the rest commits. No input stops the committer; only a storage failure holds
everything, and is retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gateway.log_limit import LogThrottle, traceback_excerpt
from gateway.mqtt.link import Ack
from gateway.state.cards import IdempotentAnswer
from gateway.state.consumption import SampleRow
from gateway.state.documents import DocumentChange
from gateway.state.store import Batch, EventPrune, Store, StoreError
from rules.events import Event
from rules.floor import FloorChange
from rules.scale_bin import BinState

log = logging.getLogger(__name__)

_RETRY_S = 1.0


@dataclass(slots=True)
class Request:
    """An API call that stages effects; `refusal` says why they could not be stored, once committed."""

    what: str
    refusal: str | None = None


Message = tuple[str, bytes]
"""An MQTT message that stages effects: its topic and payload."""
Origin = Message | Request | None
"""What staged a part: a message, an API call, or None for the service's own work (ticks, snapshots)."""


class EffectRefusedError(Exception):
    """The effects of an API call could not be stored; nothing of them was committed."""


class Committer:
    """Owns the write path to the store. One instance per service; `run` is its task."""

    def __init__(
        self, *, store: Store, executor: Executor, on_committed: Callable[[Sequence[Batch]], None],
        on_refused: Callable[[Message, str], None] = lambda message, reason: None,
        on_written: Callable[[int, float], None] = lambda staged, seconds: None,
    ) -> None:
        self._store = store
        self._executor = executor
        self._on_committed = on_committed
        self._on_refused = on_refused  # a message whose effects could not be stored: reject it
        self._on_written = on_written  # staging calls and seconds of each transaction, for the metrics
        self._batch = Batch()  # everything staged, merged: what the next transaction writes
        # What each staging call added, with its origin: replayed into a part per cause only when the merged
        # batch holds something the database refuses (a tuple a call; a Batch a cause would cost far more).
        self._staged: list[tuple[Any, ...]] = []  # (origin, add, *what add takes)
        self._acks: list[Ack] = []
        self._waiters: list[asyncio.Future[None]] = []  # resolved when the batch they wait on is committed
        self._in_flight = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._throttle = LogThrottle()
        self.origin: Origin = None  # what the effects staged now belong to (the ingest sets it per message)
        self.healthy = True
        self.last_error: str | None = None

    def _stage(self, add: Callable[..., None], *args: Any) -> None:
        add(self._batch, *args)
        self._staged.append((self.origin, add, *args))
        self._kick()

    @contextmanager
    def staging_for(self, request: Request) -> Iterator[None]:
        """Stage the effects of an API call as its own part (then `commit(request)`)."""
        self.origin = request
        try:
            yield
        finally:
            self.origin = None

    def stage_event(self, event: Event, body: dict[str, Any], state: BinState | None = None) -> None:
        """Add an event (and its bin's state, when it changed) to the next transaction."""
        self._stage(_add_event, event, body, state)

    def stage_floor(self, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
        """Add a shop-floor change (events with their bodies, counter and station states) to the next transaction."""
        self._stage(_add_floor, change, bodies)

    def stage_answer(self, answer: IdempotentAnswer) -> None:
        """Keep an API answer (by its `Idempotency-Key`) in the same transaction as its effects."""
        self._stage(_add_answer, answer)

    def stage_samples(self, rows: list[SampleRow], keep_after: float | None) -> None:
        """Add consumption samples (and, when given, the time before which history is deleted) to the next
        transaction."""
        self._stage(_add_samples, rows, keep_after)

    def stage_document(self, change: DocumentChange) -> None:
        """Record a document a delivery target made or cancelled in the next transaction."""
        self._stage(_add_document, change)

    def stage_event_prune(self, prune: EventPrune) -> None:
        """Delete old events from the log in the next transaction."""
        self._stage(_add_prune, prune)

    def stage_snapshot(
        self, states: dict[str, BinState], rejections: dict[str, int], published: Sequence[int], now: float
    ) -> None:
        """Add a periodic snapshot (levels, counters, what went out on MQTT) to the next transaction."""
        self._stage(_add_snapshot, states, rejections, published, now)

    async def commit(self, request: Request | None = None) -> None:
        """Wait until everything staged so far is committed: for effects caused by an API call, which raises
        `EffectRefusedError` when the call's effects could not be stored."""
        done = asyncio.get_running_loop().create_future()
        self._waiters.append(done)
        self._kick()
        await done
        if request is not None and request.refusal is not None:
            raise EffectRefusedError(request.refusal)

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
            batch, staged, acks, waiters = self._batch, self._staged, self._acks, self._waiters
            self._batch, self._staged, self._acks, self._waiters = Batch(), [], [], []
            # Later acknowledgements wait only behind acknowledgements held in this batch, so a
            # snapshot-only write never stalls the broker.
            self._in_flight = bool(acks)
            started = time.perf_counter()
            try:
                committed, refused = await self._write(loop, batch, staged)
            finally:
                self._in_flight = False
            self._on_written(len(staged), time.perf_counter() - started)
            for origin, reason in refused:
                self._refuse(origin, reason)
            # A refused message is acknowledged too: redelivered, it would be refused again, forever.
            for ack in acks:
                ack()
            for done in waiters:
                if not done.done():
                    done.set_result(None)
            self._committed(committed)
            if not self._wake.is_set():
                self._flush_acks()
                self._idle.set()

    async def _write(
        self, loop: asyncio.AbstractEventLoop, batch: Batch, staged: list[tuple[Any, ...]]
    ) -> tuple[list[Batch], list[tuple[Origin, str]]]:
        """Write the batch; when the database refuses something in it, write it again as a part per cause, so
        that only the causes of what was refused are refused. The parts committed, and the refusals."""
        if not await self._write_parts(loop, [batch]):
            return [batch], []
        origins, parts = _parts(staged)
        refused = dict(await self._write_parts(loop, parts))
        return ([part for i, part in enumerate(parts) if i not in refused],
                [(origins[i], reason) for i, reason in refused.items()])

    async def _write_parts(self, loop: asyncio.AbstractEventLoop, parts: list[Batch]) -> list[tuple[int, str]]:
        while True:
            try:
                refused = await loop.run_in_executor(self._executor, self._store.write, *parts)
            except StoreError as exc:
                if self.healthy:
                    log.error("database write failed, holding acknowledgements and retrying: %s", exc)
                self.healthy, self.last_error = False, str(exc)
                await asyncio.sleep(_RETRY_S)
                continue
            if not self.healthy:
                log.warning("database writes recovered")
            self.healthy, self.last_error = True, None
            return refused

    def _refuse(self, origin: Origin, reason: str) -> None:
        match origin:
            case (topic, payload):
                self._on_refused((topic, payload), reason)
            case Request():
                origin.refusal = reason
                self._log("request", "could not store the effects of %s, refused it: %s", origin.what, reason)
            case None:
                self._log("internal", "could not store the service's own effects, dropped them: %s", reason)

    def _committed(self, parts: list[Batch]) -> None:
        try:
            self._on_committed(parts)
        except Exception as exc:
            # Committed is committed: what did not go out is republished after the next reconnect.
            self._log("after-commit", "handling committed effects failed:%s", f"\n{traceback_excerpt(exc)}")

    def _log(self, key: str, message: str, *args: object) -> None:
        left_out = self._throttle.allow(key, time.monotonic())
        if left_out is not None:
            suffix = f" ({left_out} more since the last report)" if left_out else ""
            log.error(message + suffix, *args)

    def _flush_acks(self) -> None:
        acks, self._acks = self._acks, []
        for ack in acks:
            ack()

    async def drain(self) -> None:
        """Wait until everything staged so far is committed."""
        if self._staged or self._acks:
            self._kick()
        await self._idle.wait()


def _parts(staged: list[tuple[Any, ...]]) -> tuple[list[Origin], list[Batch]]:
    """What was staged, as a part per run of staging calls of one origin (in staging order)."""
    origins: list[Origin] = []
    parts: list[Batch] = []
    for origin, add, *args in staged:
        if not origins or origins[-1] is not origin:
            origins.append(origin)
            parts.append(Batch())
        add(parts[-1], *args)
    return origins, parts


def _add_event(batch: Batch, event: Event, body: dict[str, Any], state: BinState | None) -> None:
    batch.events.append((event, body))
    if state is not None:
        batch.states[event.bin_id] = state


def _add_floor(batch: Batch, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
    batch.floor.add(change, bodies)


def _add_answer(batch: Batch, answer: IdempotentAnswer) -> None:
    batch.answers.append(answer)


def _add_samples(batch: Batch, rows: list[SampleRow], keep_after: float | None) -> None:
    batch.samples.extend(rows)
    if keep_after is not None:
        batch.keep_samples_after = keep_after


def _add_document(batch: Batch, change: DocumentChange) -> None:
    batch.documents.append(change)


def _add_prune(batch: Batch, prune: EventPrune) -> None:
    batch.prune_events = prune


def _add_snapshot(
    batch: Batch, states: dict[str, BinState], rejections: dict[str, int], published: Sequence[int], now: float
) -> None:
    batch.states.update(states)
    batch.rejections.update(rejections)
    batch.published.extend(published)
    batch.heartbeat = now
