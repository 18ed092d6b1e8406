"""Wiring: builds the parts from the plant config and runs them as named, owned tasks."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from config.plant import PlantConfig
from connectors.hub import Connectors
from edge.runner import Adapters, adapters, show_colour, start_adapters
from gateway import heap
from gateway.api.app import create_app
from gateway.api.auth import Access
from gateway.api.event_stream import EventStream
from gateway.api.metrics import Metrics
from gateway.api.server import ApiServer
from gateway.floor.analytics import LoopAnalytics
from gateway.floor.andon_board import CHANGES_PER_COMMIT, MAX_CHANGES, AndonBoard
from gateway.floor.backflush_feed import BackflushFeed
from gateway.floor.card_actions import CardActions
from gateway.floor.documents import SignalDocuments
from gateway.floor.shop_floor import ShopFloor
from gateway.ingest.rejections import Rejections
from gateway.ingest.rfid import RfidIngest
from gateway.ingest.router import Ingest, IngestLimits, TopicFamily, TopicHandler, UnknownTopic
from gateway.ingest.scale import ScaleIngest
from gateway.messages import event_body, event_topic
from gateway.mqtt.link import AckingLink
from gateway.plant import Plant
from gateway.state.committer import Committer, Message
from gateway.state.files import open_state
from gateway.state.snapshots import Snapshots
from gateway.state.store import Batch, EventPrune
from rules.analytics import DAY_S
from rules.engine import Engine
from rules.scale_bin import BinSpec

if TYPE_CHECKING:
    from gateway.ingest.sparkplug import SparkplugIngest

log = logging.getLogger(__name__)

TICK_S = 1.0
PRUNE_EVERY_S = 60.0  # how often old events leave the log (storage.event_log_days)
TRIM_EVERY_S = 10.0  # how often the heap's free pages go back to the operating system (gateway/heap.py)
ANDON_SLICE = 1000  # bins with new levels the Andon board looks at per event-loop iteration


@dataclass(frozen=True, slots=True)
class Topics:
    """What the service subscribes to, and which bins' scales publish on a topic of their own."""

    subscriptions: list[str]
    own_topics: dict[str, str]  # topic → bin id, for the bins with a topic of their own


def plan_topics(config: PlantConfig, loops: Iterable[BinSpec]) -> Topics:
    """Subscribe to `<prefix>/scale/+` plus every bin topic outside it (overlaps would deliver twice)."""
    standard = f"{config.prefix}/scale/"
    own_topics = {spec.scale_topic: spec.bin_id for spec in loops if spec.scale_topic is not None}
    extra = sorted(t for t in own_topics if not (t.startswith(standard) and "/" not in t[len(standard):]))
    plcs = [f"{config.prefix}/plc/+/+"] if config.plcs else []
    rfid = [f"{config.prefix}/rfid/+"] if config.rfid.readers else []
    return Topics([f"{standard}+", *extra, *plcs, *rfid], own_topics)


class OnStandardTopic:
    """The bins whose scales publish on `<prefix>/scale/<bin id>`, looked up in the engine rather than held in a
    set of their own; `get` returns the configured id string, as `TopicFamily` wants."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, bin_id: str) -> str | None:
        """The bin's id when it is a bin on the standard topic, else None."""
        scale_bin = self._engine.get(bin_id)
        if scale_bin is None or scale_bin.spec.scale_topic is not None:
            return None
        return scale_bin.spec.bin_id


class Service:
    """The running gateway."""

    def __init__(self, plant: Plant, *, clock: Callable[[], float] = time.time, new_state: bool = False) -> None:
        self.config = config = plant.config
        self.clock = clock
        self.started_at = clock()
        self.item_config = config.items_by_sku
        self.supplier_config = {s.id: s for s in config.suppliers}
        topics = plan_topics(config, plant.loops)
        self.store = open_state(config, new_state=new_state, now=self.started_at)
        self.engine = Engine(specs=plant.loops, states=self.store.bin_states(), started_at=self.started_at)
        self.specs = self.engine.specs  # every loop's settings, by bin id
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self.metrics = Metrics(self)  # reads the parts below when scraped
        self.access = Access(config.api)
        self.started_up = False  # the first tick is done: /readyz
        self.committer = Committer(
            store=self.store, executor=self._writer, on_committed=self._committed, on_refused=self._refused,
            on_written=self.metrics.written,
        )
        self.link = AckingLink(
            settings=config.mqtt, client_id=config.client_id, subscriptions=topics.subscriptions,
            handler=self._handle, on_connected=self._republish,
        )
        self.rejections = Rejections(
            topic=f"{config.prefix}/deadletter", publish=self.link.publish, counts=self.store.rejection_counts()
        )
        self.documents = SignalDocuments(store=self.store, committer=self.committer, clock=clock)
        self.connectors = Connectors(
            config=config, loops=self.specs, event_log=self.store, engine=self.engine,
            rejections=self.rejections.counts, clock=clock, documents=self.documents,
        )
        self.scales = ScaleIngest(
            engine=self.engine, site=config.site, committer=self.committer,
            max_clock_skew_s=config.ingest.max_clock_skew_s,
        )
        self.backflush = BackflushFeed(config=config, engine=self.engine, scales=self.scales)
        self.floor = ShopFloor(
            config=config, reads=self.store.floor, committer=self.committer, started_at=self.started_at,
            on_produced=self.backflush.produced,
        )
        scale_reading = self.scales.handle  # one bound method for every bin's route
        routes: dict[str, tuple[TopicHandler, str]] = {
            topic: (scale_reading, bin_id) for topic, bin_id in topics.own_topics.items()
        }
        routes.update(self.floor.routes())
        self.rfid = RfidIngest.for_plant(config, engine=self.engine, committer=self.committer)
        routes.update(self.rfid.routes(config.prefix))
        self.andon = AndonBoard(
            config=config, engine=self.engine, floor=self.floor, committer=self.committer,
            saved=self.store.floor.andon_colours(),
        )
        self._adapters = adapters(config, lambda b: self.specs[b].scale_topic) if config.edge.in_gateway else Adapters()
        unknown = [
            UnknownTopic(f"{config.prefix}/scale/", "unknown_bin", "bin"),
            UnknownTopic(f"{config.prefix}/plc/", "unknown_point", "PLC point"),
            UnknownTopic(f"{config.prefix}/rfid/", "unknown_reader", "RFID reader"),
        ]
        scales = TopicFamily(f"{config.prefix}/scale/", scale_reading, OnStandardTopic(self.engine))
        families = [scales]
        self.sparkplug: SparkplugIngest | None = None
        self.sparkplug_link: AckingLink | None = None
        if config.sparkplug.nodes:
            # Imported here: Sparkplug B's codec (protobuf) costs a plant that has no Sparkplug nodes 7 MB.
            from gateway.ingest.sparkplug import TOPIC_PREFIX, SparkplugIngest

            self.sparkplug = SparkplugIngest(
                config=config.sparkplug, scales=self.scales, floor=self.floor, rejections=self.rejections,
                max_clock_skew_s=config.ingest.max_clock_skew_s, publish=self._publish_sparkplug, clock=clock,
            )
            # A connection of its own, with a clean session, as Sparkplug B asks of a host application.
            self.sparkplug_link = AckingLink(
                settings=config.mqtt, client_id=config.sparkplug.client_id or f"{config.client_id}-sparkplug",
                subscriptions=self.sparkplug.subscriptions(), handler=self._handle,
                on_connected=self.sparkplug.connected, clean_session=True,
            )
            families.append(TopicFamily(TOPIC_PREFIX, self.sparkplug.handle, self.sparkplug))
        self.ingest = Ingest(
            routes=routes, families=families, unknown=unknown,
            committer=self.committer, rejections=self.rejections,
            limits=IngestLimits(config.ingest.max_payload_bytes), clock=clock,
        )
        self.card_actions = CardActions(
            engine=self.engine, store=self.store, committer=self.committer, site=config.site, clock=clock,
        )
        self.analytics = LoopAnalytics(
            config=config, engine=self.engine, store=self.store, committer=self.committer, clock=clock,
        )
        # Event seqs that went out on MQTT, recorded as published by the next snapshot; kept as arrays, not a set
        # of ints: a start with 50,000 stations publishes 50,000 Andon colours within seconds.
        self._published = array("q")
        self._recording = array("q")  # taken by the snapshot being saved: recorded up to `_recorded_up_to`
        self._recorded_up_to = 0
        self._pruned_at = self._trimmed_at = 0.0
        self.snapshots = Snapshots(
            engine=self.engine, committer=self.committer, take_dirty=self.scales.dirty.take,
            rejections=self.rejections.counts, take_published=self._take_published,
            recorded=self._recorded, clock=clock,
        )
        self.events = EventStream(
            read_log=self.store.events_after, newest=self.store.last_event_seq, loops=self.specs,
            max_queued=config.api.event_stream_max_queued,
        )
        self.api = ApiServer(create_app(self), host=config.api.host, port=config.api.port, tls=config.api.tls)

    def _handle(self, topic: str, payload: bytes, ack: Callable[[], None] | None) -> None:
        self.ingest.handle(topic, payload, ack)

    def _publish_sparkplug(self, topic: str, payload: bytes) -> bool:
        """Commands to Sparkplug B edge nodes go out at QoS 0, on the Sparkplug connection."""
        return self.sparkplug_link is not None and self.sparkplug_link.publish(topic, payload, qos=0)

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set, then save state and return."""
        try:
            async with asyncio.TaskGroup() as tasks:
                workers = [
                    tasks.create_task(self.committer.run(), name="committer"),
                    tasks.create_task(self.link.run(), name="mqtt-link"),
                    tasks.create_task(self._tick_loop(), name="stale-ticker"),
                    tasks.create_task(
                        self.snapshots.run(self.config.storage.snapshot_interval_s), name="snapshotter"
                    ),
                    tasks.create_task(self.api.run(), name="http-api"),
                    tasks.create_task(self.connectors.run(), name="connectors"),
                    tasks.create_task(self.analytics.run(), name="analytics"),
                ]
                workers += start_adapters(tasks, self._adapters.all(), self.link.publish)
                if self.sparkplug_link is not None:
                    workers.append(tasks.create_task(self.sparkplug_link.run(), name="sparkplug-link"))
                await stop.wait()
                log.info("stopping")
                self.events.close()  # open streams end now rather than hold the HTTP server
                await self._final_snapshot()
                for task in workers:
                    task.cancel()
        finally:
            self._writer.shutdown(wait=True)
            self.connectors.close()
            self.store.close()

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = self.clock()
            for event in self.engine.tick(now):
                body = event_body(event, self.specs[event.bin_id], self.config.site)
                self.committer.stage_event(event, body, self.engine.state_copy(event.bin_id))
            self.floor.tick(now)
            if self.sparkplug is not None:
                self.sparkplug.tick(now)
            self.backflush.tick(now)
            moved = self.scales.moved.take()
            for start in range(0, len(moved), ANDON_SLICE):  # readings go on between slices
                self.andon.numbers_changed(moved[start:start + ANDON_SLICE])
                await asyncio.sleep(0)
            calls, self.floor.calls_seen = self.floor.calls_seen, set()
            self.andon.stations_changed(calls)
            for _ in range(MAX_CHANGES // CHANGES_PER_COMMIT):
                changes = self.andon.refresh(self.clock())
                for change in changes:
                    show_colour(self._adapters.plcs, change.subject, change.colour)
                if len(changes) < CHANGES_PER_COMMIT:
                    break
                await self.committer.commit()  # one small write after another, never thousands at once
            if now - self._pruned_at >= PRUNE_EVERY_S:
                self._pruned_at = now
                keep_from = now - self.config.storage.event_log_days * DAY_S
                self.committer.stage_event_prune(EventPrune(before=keep_from, up_to=self.connectors.fed_seq))
            if now - self._trimmed_at >= TRIM_EVERY_S:
                self._trimmed_at = now
                heap.trim()
            self.started_up = True

    def _take_published(self) -> array[int]:
        # A snapshot that failed part-way leaves its rest unrecorded: republished after the next reconnect.
        self._recording, self._published, self._recorded_up_to = self._published, array("q"), 0
        return self._recording

    def _recorded(self, seqs: Sequence[int]) -> None:
        self._recorded_up_to += len(seqs)  # the snapshot records its seqs in slices, in order

    async def _final_snapshot(self) -> None:
        await self.snapshots.save()
        await self.committer.drain()

    def _committed(self, parts: Sequence[Batch]) -> None:
        bodies: list[dict[str, Any]] = []  # in seq order: each part's events, then its floor events
        now = self.clock()
        for part in parts:
            for event, _ in part.events:
                self.metrics.committed(now - event.ts)
            for floor_event, _ in part.floor.events:
                self.metrics.committed(now - floor_event.ts)
            self.andon.bins_changed(event.bin_id for event, _ in part.events)
            self.andon.stations_changed([*part.floor.stations, *(event.subject for event, _ in part.floor.events)])
            bodies += [body for _, body in part.events]
            bodies += [body for _, body in part.floor.events]
        self.connectors.feed(bodies)
        self.events.publish(bodies)
        for part in parts:
            for event, body in part.events:
                self._send(body["seq"], event.kind, event.bin_id, body)
            self.backflush.received((event for event, _ in part.events), now)
            for floor_event, body in part.floor.events:
                self._send(body["seq"], floor_event.kind, floor_event.subject, body)

    def _refused(self, message: Message, reason: str) -> None:
        """A message whose effects the database could not take: rejected like bad input, never redelivered."""
        topic, payload = message
        self.rejections.reject(
            topic=topic, payload=payload, reason="unstorable", detail=f"its effects could not be stored: {reason}",
            now=self.clock(),
        )

    def _send(self, seq: int, kind: str, bin_id: str, body: dict[str, object]) -> None:
        topic = event_topic(self.config.prefix, kind, bin_id)
        # An Andon topic holds the station's current colour for lights and screens that connect later.
        if self.link.publish(topic, json.dumps(body).encode(), retain=kind == "andon_changed"):
            self._published.append(seq)

    def _republish(self) -> None:
        """After (re)connecting, send committed events that never went out."""
        in_transit = {*self._published, *self._recording[self._recorded_up_to:]}
        for seq, bin_id, raw in self.store.unpublished_events():
            if seq in in_transit:
                continue
            body = json.loads(raw)
            body["seq"] = seq
            self._send(seq, body["type"], bin_id, body)
