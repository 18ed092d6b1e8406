"""The connectors of one service: committed events in, fanned out into the outbox, delivered by consumers.

The committer hands over the bodies of every committed batch (`feed`, on the event loop, no I/O). One
task appends them to the outbox in a transaction per batch on the outbox's own thread, so neither the
rules nor the state database ever wait for it. Events are routed by their `type` and fields only, so new
kinds flow without changes here.

After a crash the events committed after the outbox's `fed_seq` are read back from the state database's
event log and fed again: an event is never lost between the two files, and never fanned out twice.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, Protocol, TypeVar

from config.plant import PlantConfig
from config.targets import LoopFields, TargetConfig, event_fields, served
from connectors import influx_write
from connectors.influx_points import Level, LevelFilter, event_point, level_point, outbox_point, rejected_point
from connectors.influx_write import InfluxWriter
from connectors.line_protocol import Point, line
from connectors.outbox import Entry, Item, Outbox, OutboxError
from connectors.targets import CONSUMER_PREFIX, Documents, TargetDelivery
from connectors.webhook_payload import LoopInfo, encode, event_id, loop_of, supplier_of, wants, webhook_body
from connectors.webhooks import SupplierWebhook
from rules.engine import Engine

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

MAX_PENDING = 10_000  # bodies waiting for the outbox; beyond it they are re-read from the state database
MAX_PENDING_LINES = 200_000  # level lines waiting for the outbox; beyond it new ones are dropped and counted
_BACKFILL_CHUNK = 1000
_RETRY_S = 1.0
_LEVELS_PER_SLICE = 1000  # about 12 ms of work when every one of them is written
OUTBOX_SAMPLE_S = 10.0  # how often the outbox's counts go to InfluxDB (a count over its index on its own thread)


class EventLog(Protocol):
    """What the connectors read of the service's state database (its `Store` is one)."""

    def last_event_seq(self) -> int:
        """The seq of the newest event ever committed."""
        ...

    def events_after(self, seq: int, limit: int) -> list[tuple[int, str]]:
        """Committed events after `seq`, oldest first: (seq, body): fed again after a crash."""
        ...

    def identity(self) -> dict[str, str] | None:
        """The database's identity, which the outbox records as its owner."""
        ...


class Connectors:
    """Owns the outbox and every consumer of it."""

    def __init__(
        self, *, config: PlantConfig, loops: Mapping[str, LoopInfo], event_log: EventLog, engine: Engine,
        rejections: Mapping[str, int], clock: Callable[[], float], documents: Documents | None = None,
    ) -> None:
        self._site = config.site
        self._event_log = event_log
        self._engine = engine
        self._rejections = rejections
        self._clock = clock
        self._public_url = config.api.public_url
        self._loops = loops
        self._suppliers = {s.id: s for s in config.suppliers if s.webhook is not None}
        self._all_suppliers = {s.id: s for s in config.suppliers}
        self._items = config.items_by_sku
        self._targets: list[TargetConfig] = list(config.targets)
        self._influx_config = config.influx
        self.enabled = bool(self._suppliers) or config.influx is not None or bool(self._targets)
        self.outbox: Outbox | None = None
        self.webhooks: dict[str, SupplierWebhook] = {}
        self.targets: dict[str, TargetDelivery] = {}
        self.influx: InfluxWriter | None = None
        self._pending: list[dict[str, Any]] = []
        self._lines: list[str] = []  # level and counter lines for the next append
        self._rejections_written: dict[str, int] = {}
        self._outbox_sampled_at = 0.0
        self._overflow = False
        self._wake = asyncio.Event()
        self._fed = 0
        self._started = False
        if not self.enabled:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self.outbox = Outbox(
            config.outbox_path, max_items=config.outbox.max_items, keep_delivered=config.outbox.keep_delivered
        )
        if (identity := event_log.identity()) is not None:
            self.outbox.claim(identity["database_id"])  # a missing state database is then noticed (state_files)
        for sid, supplier in self._suppliers.items():
            assert supplier.webhook is not None
            self.webhooks[sid] = SupplierWebhook(
                supplier=sid, config=supplier.webhook, outbox=self.outbox, call=self._call, clock=clock
            )
        if self._targets and documents is None:
            raise ValueError("delivery targets need the service's documents")
        for target in self._targets:
            assert documents is not None
            self.targets[target.id] = TargetDelivery(
                config=target, outbox=self.outbox, call=self._call, documents=documents, clock=clock
            )
        if config.influx is not None:
            self.influx = InfluxWriter(config=config.influx, outbox=self.outbox, call=self._call, clock=clock)
            self._levels = LevelFilter(
                deadband_pct=config.influx.level_deadband_pct, heartbeat_s=config.influx.level_heartbeat_s
            )

    def _call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
        """Run `fn` on the outbox thread."""
        return asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def feed(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Committed event bodies (with `seq`), in commit order. Never blocks."""
        if not self.enabled:
            return
        if self._overflow or len(self._pending) >= MAX_PENDING:
            self._overflow = True  # the outbox is behind: these are read back from the event log
        else:
            self._pending.extend(bodies)
        self._wake.set()

    @property
    def fed_seq(self) -> int:
        """Events up to this seq are in the outbox, or nothing consumes them: the event log may let them go."""
        return self._fed if self.outbox is not None else sys.maxsize

    async def run(self) -> None:
        """Feed the outbox and run every consumer until cancelled."""
        if not self.enabled:
            return
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._feed_loop(), name="outbox-feed")
            for sid, webhook in self.webhooks.items():
                tasks.create_task(webhook.run(), name=f"webhook[{sid}]")
            for tid, target in self.targets.items():
                tasks.create_task(target.run(), name=f"target[{tid}]")
            if self.influx is not None:
                tasks.create_task(self.influx.run(), name="influx-writer")
                tasks.create_task(self._level_loop(), name="influx-levels")

    def close(self) -> None:
        """Release the outbox; the tasks must have ended."""
        if self.outbox is not None:
            self._executor.shutdown(wait=True)
            self.outbox.close()

    async def retry(self, item_id: int) -> Item | None:
        """Make a delivery pending and due now; None for an unknown id."""
        if self.outbox is None:
            return None
        item = await self._call(self.outbox.retry, item_id, self._clock())
        if item is not None:
            self._wake_consumer(item.consumer)
        return item

    def _wake_consumer(self, consumer: str) -> None:
        """Tell a webhook's or target's task that items are waiting."""
        waiting = self.webhooks.get(consumer.removeprefix("webhook:")) or self.targets.get(
            consumer.removeprefix(CONSUMER_PREFIX))
        if waiting is not None:
            waiting.wake()

    # --- feeding -----------------------------------------------------------------------------------

    async def _feed_loop(self) -> None:
        while True:
            try:
                await self._feed()
            except OutboxError as exc:
                log.error("outbox write failed, retrying; the events are read back from the event log: %s", exc)
                self._pending.clear()
                await asyncio.sleep(_RETRY_S)

    async def _feed(self) -> None:
        assert self.outbox is not None
        if not self._started:
            fed = await self._call(self.outbox.fed_seq)
            if fed is None:  # a new outbox starts with the events committed from now on
                fed = await self._call(self._event_log.last_event_seq)
                await self._call(self.outbox.append, [], fed_seq=fed)
            self._fed, self._started = fed, True
        await self._backfill()
        while True:
            await self._wake.wait()
            self._wake.clear()
            bodies, self._pending = self._pending, []
            if self._overflow:
                self._overflow = False
                await self._backfill()
            else:
                await self._append(bodies)

    async def _backfill(self) -> None:
        """Feed the events committed after `fed_seq` from the state database."""
        while rows := await self._call(self._event_log.events_after, self._fed, _BACKFILL_CHUNK):
            bodies = []
            for seq, raw in rows:
                body = json.loads(raw)
                body["seq"] = seq
                bodies.append(body)
            await self._append(bodies)

    async def _append(self, bodies: list[dict[str, Any]]) -> None:
        assert self.outbox is not None
        fresh = sorted((b for b in bodies if b["seq"] > self._fed), key=lambda b: int(b["seq"]))
        sampled, self._lines = self._lines, []
        if not fresh and not sampled:
            return
        entries = [entry for body in fresh for entry in self._fan_out(body)]
        lines = sampled + [text for body in fresh if (text := self._event_line(body)) is not None]
        if lines:
            entries.append(Entry(consumer=influx_write.CONSUMER, key="", kind="lines", created=self._clock(),
                                 payload="\n".join(lines)))
        last = fresh[-1]["seq"] if fresh else None
        try:
            dropped = await self._call(self.outbox.append, entries, fed_seq=last)
        except OutboxError:
            self._lines = sampled + self._lines  # the events come back from the event log
            raise
        self._fed = last or self._fed
        if self.influx is not None and lines:
            self.influx.queued(len(lines))
        if dropped:
            log.warning("outbox full: dropped the oldest undelivered items %s", dropped)
        for consumer in {e.consumer for e in entries}:
            self._wake_consumer(consumer)

    def _event_line(self, body: dict[str, Any]) -> str | None:
        if self.influx is None:
            return None
        try:
            return line(event_point(body, self._loops))
        except (KeyError, ValueError) as exc:
            log.warning("event %s not written to InfluxDB: %s", body.get("seq"), exc)
            return None

    # --- levels and counters (InfluxDB) ------------------------------------------------------------

    async def _level_loop(self) -> None:
        """Every flush interval: the levels that moved past the dead-band or are due a heartbeat."""
        assert self._influx_config is not None
        while True:
            await asyncio.sleep(self._influx_config.flush_interval_s)
            now = self._clock()
            points = [*self._rejection_points(now), *await self._outbox_points(now)]
            lines = [text for p in points if (text := line(p)) is not None]
            for n, level in enumerate(levels(self._engine), 1):
                stamp = self._levels.due(level, now)
                if stamp is not None and (text := line(level_point(
                        level, self._loops[level.bin_id], site=self._site, ts=stamp))) is not None:
                    lines.append(text)
                if n % _LEVELS_PER_SLICE == 0:
                    await asyncio.sleep(0)  # readings go on between slices of a large plant
            if not lines:
                continue
            if len(self._lines) >= MAX_PENDING_LINES and self.influx is not None:
                self.influx.stats.dropped += len(lines)  # the outbox's disk is failing: counted, not kept
                continue
            self._lines += lines
            self._wake.set()

    async def _outbox_points(self, now: float) -> list[Point]:
        if self.outbox is None or now - self._outbox_sampled_at < OUTBOX_SAMPLE_S:
            return []
        self._outbox_sampled_at = now
        try:
            stats = await self._call(self.outbox.stats)
        except (OutboxError, sqlite3.Error) as exc:  # the next sample tries again
            log.warning("outbox counts not sampled: %s", exc)
            return []
        # Every consumer, with zeros when it has nothing in the outbox (delivered lines leave it at once).
        consumers = {influx_write.CONSUMER, *(f"webhook:{sid}" for sid in self.webhooks), *stats}
        return [outbox_point(site=self._site, consumer=c, counts=stats.get(c, {}), ts=now) for c in sorted(consumers)]

    def _rejection_points(self, now: float) -> Iterator[Point]:
        for reason, count in list(self._rejections.items()):
            if self._rejections_written.get(reason) != count:
                self._rejections_written[reason] = count
                yield rejected_point(site=self._site, reason=reason, count=count, ts=now)

    def _fan_out(self, body: dict[str, Any]) -> list[Entry]:
        entries = self._to_targets(body) if self._targets else []
        supplier = self._suppliers.get(supplier_of(body, self._loops) or "")
        if supplier is None or supplier.webhook is None or not wants(frozenset(supplier.webhook.events), body):
            return entries
        payload = webhook_body(
            body, site=self._site, loops=self._loops, lead_time_h=supplier.lead_time_h, public_url=self._public_url
        )
        return [*entries, Entry(consumer=f"webhook:{supplier.id}", key=event_id(self._site, body["seq"]),
                                kind=body["type"], created=self._clock(), payload=encode(payload))]

    def _to_targets(self, body: dict[str, Any]) -> list[Entry]:
        """An item per target that takes this event: its fields, rendered into requests when delivered."""
        kind = body.get("type")
        # An event the target itself caused (its ERP cancelled the document) is not sent back to it.
        takers = [t for t in self._targets if kind in t.events and body.get("by") != t.id]
        if not takers:
            return []
        loop = self._loop_fields(loop_of(body))
        supplier = body.get("supplier") or (loop.supplier if loop else None)
        takers = [t for t in takers if served(t, supplier)]
        if not takers:
            return []
        payload = encode(event_fields(body, site=self._site, loop=loop, public_url=self._public_url))
        key = event_id(self._site, body["seq"])
        return [Entry(consumer=CONSUMER_PREFIX + t.id, key=key, kind=str(kind), created=self._clock(), payload=payload)
                for t in takers]

    def _loop_fields(self, loop_id: str | None) -> LoopFields | None:
        info = self._loops.get(loop_id) if loop_id else None
        if info is None:
            return None
        item = self._items.get(info.sku)
        supplier = self._all_suppliers.get(info.supplier) if info.supplier else None
        return LoopFields(
            sku=info.sku, description=item.description if item else "", line=info.line, station=info.station,
            supplier=info.supplier, supplier_name=supplier.name if supplier else None, quantity=info.quantity,
            lead_time_h=supplier.lead_time_h if supplier else 0.0,
        )


def levels(engine: Engine) -> Iterator[Level]:
    """The current level of every bin that has reported."""
    for scale_bin in engine:
        st = scale_bin.state
        level_pct = scale_bin.level_pct
        if st.pieces is not None and st.last_ts is not None and level_pct is not None:
            yield Level(bin_id=scale_bin.spec.bin_id, pieces=st.pieces, weight_g=st.weight_g, level_pct=level_pct,
                        stale=st.stale, ts=st.last_ts)
