"""The kanban side of a simulated plant, pure: bins drained by the line, cards dropped at kanban posts, and
suppliers that deliver a container after their lead time (compressed by the speed factor).

`step` advances the plant and returns what its scales and readers publish; `on_signal` is told of every
signal the service releases, which is the order the supplier works from. A loop with RFID cards (tags in
the plant file and a kanban post) has its card read at the post as soon as a container is empty, and read
again at the receiving dock when it comes back full.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from config.plant import PlantConfig
from config.rfid import RfidReader
from edge.sim.rfid_reads import FORMATS, HEARTBEATS, ReadFormat
from edge.sim.scales import SimBin

HEARTBEAT_S = 30.0
"""How often an idle reader says it is alive."""
EXPEDITE_AFTER = 2.0
"""A bin empty for this many lead times gets a container anyway (its order was lost while nothing ran)."""
_REMEMBERED_SIGNALS = 10_000


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message to publish."""

    topic: str
    payload: bytes
    qos: int = 0


@dataclass(slots=True)
class _Delivery:
    due: float
    bin_id: str
    card: int


@dataclass(frozen=True, slots=True)
class _Reader:
    topic: str
    form: ReadFormat


@dataclass(slots=True)
class _Loop:
    """What the simulator keeps of a loop besides its bin: lead time and its RFID cards."""

    lead_s: float
    cards: int
    tags: dict[int, str]  # card number → EPC
    post: _Reader | None
    out: set[int]  # cards released (or dropped at the post) and not yet back
    empty_since: float | None = None


class PlantSimulation:
    """Every bin, loop and reader of a plant file."""

    def __init__(self, config: PlantConfig, *, speed: float, rng: random.Random, now: float) -> None:
        self._rng = rng
        self._prefix = config.prefix
        readers = {r.id: _Reader(f"{config.prefix}/rfid/{r.id}", FORMATS[i % len(FORMATS)])
                   for i, r in enumerate(config.rfid.readers)}
        self._readers = list(readers.values())
        dock = next((r for r in config.rfid.readers if r.role == "receiving"), None)
        self._dock = readers[dock.id] if dock is not None else None
        leads = {s.id: s.lead_time_h for s in config.suppliers}
        items = config.items_by_sku
        tags: dict[str, dict[int, str]] = {}
        for tag in config.rfid.tags:
            tags.setdefault(tag.loop, {})[tag.card] = tag.epc
        self.bins: dict[str, SimBin] = {}
        self._loops: dict[str, _Loop] = {}
        for b in config.bins:
            item = items[b.sku]
            lead_h = leads.get(item.supplier or "", 8.0)
            # The demand the loop is sized for: what is left when its first card goes out lasts the lead time.
            sized_per_h = max(b.reorder_point + (b.cards - 1) * b.container_qty, b.container_qty / 4) / max(lead_h, 0.5)
            self.bins[b.id] = SimBin(
                bin_id=b.id, topic=config.scale_topic(b.id, b.scale.topic), tasmota=b.scale.topic is not None,
                unit_weight_g=item.unit_weight_g, tare_g=b.scale.tare_g, container_qty=b.container_qty,
                capacity=b.capacity, pieces=round(b.capacity * rng.uniform(0.35, 1.0)),
                use_per_s=sized_per_h * rng.uniform(0.5, 1.1) * speed / 3600,
            )
            post = _post_for(b.id, config.rfid.readers)
            self._loops[b.id] = _Loop(
                lead_s=lead_h * 3600 / speed, cards=b.cards, tags=tags.get(b.id, {}),
                post=readers[post.id] if post is not None and b.id in tags else None, out=set(),
            )
        self._deliveries: list[_Delivery] = []
        self._signals: deque[str] = deque(maxlen=_REMEMBERED_SIGNALS)
        self._heartbeat_at = now + HEARTBEAT_S

    def on_signal(self, body: dict[str, object], now: float) -> None:
        """A signal event from the service: a released card is an order its supplier delivers after the lead
        time (give or take a fifth)."""
        if body.get("type") != "signal_released":
            return
        bin_id, card, signal_id = body.get("bin_id"), body.get("card"), body.get("signal_id")
        if not isinstance(bin_id, str) or not isinstance(card, int) or bin_id not in self._loops:
            return
        if signal_id in self._signals:
            return  # delivered again by the broker: the order is placed already
        self._signals.append(str(signal_id))
        loop = self._loops[bin_id]
        loop.out.add(card)
        self._deliveries.append(_Delivery(now + loop.lead_s * self._rng.uniform(0.8, 1.25), bin_id, card))

    def step(self, now: float, dt_s: float) -> list[Message]:
        """Advance `dt_s` seconds: deliveries that are due, one reading per scale, cards dropped at posts."""
        messages = self._deliver(now)
        for bin_id, sim in self.bins.items():
            reading = sim.step(dt_s, self._rng)
            messages += self._post_cards(bin_id, now)
            messages.append(Message(sim.topic, reading))
            self._expedite(bin_id, now)
        if now >= self._heartbeat_at:
            self._heartbeat_at = now + HEARTBEAT_S
            messages += [Message(r.topic, HEARTBEATS[r.form], qos=1) for r in self._readers]
        return messages

    def _deliver(self, now: float) -> list[Message]:
        due = [d for d in self._deliveries if d.due <= now]
        self._deliveries = [d for d in self._deliveries if d.due > now]
        messages = []
        for d in due:
            loop = self._loops[d.bin_id]
            epc = loop.tags.get(d.card)
            if epc is not None and self._dock is not None:  # the dock reads the card on the full container
                messages.append(Message(self._dock.topic, self._dock.form(epc, 1, now), qos=1))
            loop.out.discard(d.card)
            self.bins[d.bin_id].deliver()
        return messages

    def _post_cards(self, bin_id: str, now: float) -> list[Message]:
        """Drop the card of each emptied container at the loop's kanban post."""
        loop, sim = self._loops[bin_id], self.bins[bin_id]
        if loop.post is None:
            return []
        messages = []
        empty = loop.cards - sim.full_containers
        home = sorted(n for n in loop.tags if n not in loop.out)
        while len(loop.out) < empty and home:
            card = home.pop(0)
            loop.out.add(card)
            messages.append(Message(loop.post.topic, loop.post.form(loop.tags[card], 1, now), qos=1))
        return messages

    def _expedite(self, bin_id: str, now: float) -> None:
        loop, sim = self._loops[bin_id], self.bins[bin_id]
        if sim.pieces > 0 or sim.waiting:
            loop.empty_since = None
        elif loop.empty_since is None:
            loop.empty_since = now
        elif now - loop.empty_since > EXPEDITE_AFTER * loop.lead_s and not any(
                d.bin_id == bin_id for d in self._deliveries):
            sim.deliver()
            loop.out.clear()
            loop.empty_since = None


def _post_for(bin_id: str, readers: list[RfidReader]) -> RfidReader | None:
    """The kanban post a loop's cards are dropped at: the post that lists the loop, else one listing none."""
    posts = [r for r in readers if r.role == "kanban_post"]
    return next((r for r in posts if bin_id in r.loops), next((r for r in posts if not r.loops), None))
