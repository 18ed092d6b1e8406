"""Group commit: effects staged by the hot path are written in one transaction, then their causes acked.

The MQTT handler runs the rules synchronously. When a message causes an effect (a released signal, a
transition, an alarm), its acknowledgement is held until the effect is committed; acknowledgements of
later messages queue behind it, so the broker sees them in arrival order (MQTT 3.1.1 §4.6).

Fault containment: what each cause staged (a message, an API call, the service's own work) is a part of the
transaction of its own. A part the database cannot take is rolled back alone and refused to its cause (the
message is dead-lettered as `unstorable` and acknowledged, the API call answers 422), and the rest of the
transaction commits: no input stops the committer. Only a storage failure holds everything and is retried.
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
    ) -> None:
        self._store = store
        self._executor = executor
        self._on_committed = on_committed
        self._on_refused = on_refused  # a message whose effects could not be stored: reject it
        self._parts: list[tuple[Origin, Batch]] = []
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

    def _batch(self) -> Batch:
        """The part of the current origin, a new one when the last part is another origin's."""
        origin = self.origin
        if self._parts and self._parts[-1][0] is origin:
            return self._parts[-1][1]
        batch = Batch()
        self._parts.append((origin, batch))
        return batch

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
        batch = self._batch()
        batch.events.append((event, body))
        if state is not None:
            batch.states[event.bin_id] = state
        self._kick()

    def stage_floor(self, change: FloorChange, bodies: list[dict[str, Any]]) -> None:
        """Add a shop-floor change (events with their bodies, counter and station states) to the next transaction."""
        self._batch().floor.add(change, bodies)
        self._kick()

    def stage_answer(self, answer: IdempotentAnswer) -> None:
        """Keep an API answer (by its `Idempotency-Key`) in the same transaction as its effects."""
        self._batch().answers.append(answer)
        self._kick()

    def stage_samples(self, rows: list[SampleRow], keep_after: float | None) -> None:
        """Add consumption samples (and, when given, the time before which history is deleted) to the next
        transaction."""
        batch = self._batch()
        batch.samples.extend(rows)
        if keep_after is not None:
            batch.keep_samples_after = keep_after
        self._kick()

    def stage_event_prune(self, prune: EventPrune) -> None:
        """Delete old events from the log in the next transaction."""
        self._batch().prune_events = prune
        self._kick()

    def stage_snapshot(
        self, states: dict[str, BinState], rejections: dict[str, int], published: Sequence[int], now: float
    ) -> None:
        """Add a periodic snapshot (levels, counters, what went out on MQTT) to the next transaction."""
        batch = self._batch()
        batch.states.update(states)
        batch.rejections.update(rejections)
        batch.published.extend(published)
        batch.heartbeat = now
        self._kick()

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
            parts, acks, waiters = self._parts, self._acks, self._waiters
            self._parts, self._acks, self._waiters = [], [], []
            # Later acknowledgements wait only behind acknowledgements held in this batch, so a
            # snapshot-only write never stalls the broker.
            self._in_flight = bool(acks)
            try:
                refused = await self._write(loop, [batch for _, batch in parts])
            finally:
                self._in_flight = False
            for index, reason in refused:
                self._refuse(parts[index][0], reason)
            # A refused message is acknowledged too: redelivered, it would be refused again, forever.
            for ack in acks:
                ack()
            for done in waiters:
                if not done.done():
                    done.set_result(None)
            skipped = {index for index, _ in refused}
            self._committed([batch for index, (_, batch) in enumerate(parts) if index not in skipped])
            if not self._wake.is_set():
                self._flush_acks()
                self._idle.set()

    async def _write(self, loop: asyncio.AbstractEventLoop, parts: list[Batch]) -> list[tuple[int, str]]:
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
        if self._parts or self._acks:
            self._kick()
        await self._idle.wait()
