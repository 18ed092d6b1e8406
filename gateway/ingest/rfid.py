"""RFID reads: payload → tag reads → de-duplicated → the card they stand for → the loop's rule → staged effects.

A read at a `kanban_post` reader releases its card, at a `receiving` reader receives it; a read for a card
already in that state changes nothing. Reads that change a card are acknowledged only after the commit.
"""

from __future__ import annotations

import logging

from config.plant import PlantConfig
from config.rfid import RfidConfig, RfidReader
from gateway.ingest.epc import decode_grai96, decode_sgtin96
from gateway.ingest.rfid_payloads import TagRead, decode_rfid
from gateway.ingest.router import TopicHandler
from gateway.messages import event_body
from gateway.state.committer import Committer
from rules.engine import Engine
from rules.events import Event

log = logging.getLogger(__name__)

_PRUNE_AT = 10_000  # remembered (tag, antenna) pairs before the ones outside the window are dropped


class TagMap:
    """Which loop and card a tag stands for: by its EPC as configured, else by the GTIN of its SGTIN-96 or the
    asset type of its GRAI-96 (a returnable container)."""

    def __init__(self, *, rfid: RfidConfig, loops_by_gtin: dict[str, list[str]]) -> None:
        self._cards = {tag.epc: (tag.loop, tag.card) for tag in rfid.tags}
        self._loops_by_gtin = loops_by_gtin
        self._loops_by_grai = {asset_type.grai: asset_type.loops for asset_type in rfid.asset_types}

    def card_for(self, epc: str, reader: RfidReader) -> tuple[str, int | None] | None:
        """(loop, card number) for an EPC; the number is None for a tag that stands for any card of its loop."""
        explicit = self._cards.get(epc)
        if explicit is not None:
            return explicit
        if (sgtin := decode_sgtin96(epc)) is not None:
            loops = self._loops_by_gtin.get(sgtin.gtin, [])
        elif (grai := decode_grai96(epc)) is not None:
            loops = self._loops_by_grai.get(grai.asset_grai, [])
        else:
            return None
        if reader.loops:
            loops = [loop for loop in loops if loop in reader.loops]
        return (loops[0], None) if len(loops) == 1 else None


class RfidIngest:
    """The topic handler for RFID readers."""

    def __init__(
        self, *, engine: Engine, site: str, committer: Committer, rfid: RfidConfig, tags: TagMap,
    ) -> None:
        self._engine = engine
        self._site = site
        self._committer = committer
        self._readers = {reader.id: reader for reader in rfid.readers}
        self._window_s = rfid.dedup_window_s
        self._tags = tags
        self._seen: dict[tuple[str, int | None], float] = {}
        self.unknown_tags = 0  # reads of tags that stand for no card (other goods, badges): not an error
        self.received = 0  # reader messages handled, for the metrics

    @classmethod
    def for_plant(
        cls, config: PlantConfig, *, engine: Engine, committer: Committer
    ) -> RfidIngest:
        """The handler for a plant's readers, tags mapped by EPC and by the GTINs of its items."""
        gtins = {item.sku: item.gtin14 for item in config.items if item.gtin14}
        loops_by_gtin: dict[str, list[str]] = {}
        for scale_bin in engine if gtins else ():
            if (gtin := gtins.get(scale_bin.spec.sku)) is not None:
                loops_by_gtin.setdefault(gtin, []).append(scale_bin.spec.bin_id)
        return cls(
            engine=engine, site=config.site, committer=committer, rfid=config.rfid,
            tags=TagMap(rfid=config.rfid, loops_by_gtin=loops_by_gtin),
        )

    def routes(self, prefix: str) -> dict[str, tuple[TopicHandler, str]]:
        """`<prefix>/rfid/<reader id>` for every reader."""
        return {f"{prefix}/rfid/{reader_id}": (self.handle, reader_id) for reader_id in self._readers}

    def handle(self, reader_id: str, payload: bytes, now: float) -> bool:
        """Apply one reader message; True when it changed a card (its acknowledgement waits for the commit)."""
        self.received += 1
        reader = self._readers[reader_id]
        staged = False
        for read in decode_rfid(payload):
            if self._repeated(read, now):
                continue
            event = self._apply(reader, read, now)
            if event is not None:
                self._committer.stage_event(
                    event, event_body(event, self._engine.bin(event.bin_id).spec, self._site),
                    self._engine.state_copy(event.bin_id),
                )
                staged = True
        return staged

    def _repeated(self, read: TagRead, now: float) -> bool:
        key = (read.epc, read.antenna)
        last = self._seen.get(key)
        self._seen[key] = now
        if len(self._seen) > _PRUNE_AT:
            self._seen = {k: t for k, t in self._seen.items() if now - t <= self._window_s}
        return last is not None and now - last <= self._window_s

    def _apply(self, reader: RfidReader, read: TagRead, now: float) -> Event | None:
        card = self._tags.card_for(read.epc, reader)
        if card is None:
            self.unknown_tags += 1
            return None
        loop, number = card
        by = f"rfid:{reader.id}"
        if reader.role == "kanban_post":
            return self._engine.post_card(loop, number, now, by=by, tag=read.epc if number is None else None)
        return self._engine.receive_card(loop, number, now, by=by, tag=read.epc if number is None else None)
