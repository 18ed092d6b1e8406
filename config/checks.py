"""Rules of the plant file that span fields and sections: unique ids, references, thresholds.

They run on the validated file, and also when some entries fail validation, on the entries that pass on their
own, so that one run reports every problem."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from config.base import Path_
from config.floor import (
    Plc,
    ScaleDevice,
    Station,
    cross_check_backflush,
    cross_check_floor,
    cross_check_lights,
    cross_check_scales,
    point_refs,
)
from config.loops import Bin, Item, Supplier
from config.plant import PlantConfig

_M = TypeVar("_M")


@dataclass(frozen=True, slots=True)
class _Entries:
    suppliers: list[tuple[int, Supplier]]
    items: list[tuple[int, Item]]
    bins: list[tuple[int, Bin]]
    prefix: str
    plcs: list[tuple[int, Plc]]
    stations: list[tuple[int, Station]]
    points: dict[str, bool]
    scales: list[tuple[int, ScaleDevice]]


def entries_of(config: PlantConfig) -> _Entries:
    return _Entries(
        list(enumerate(config.suppliers)), list(enumerate(config.items)), list(enumerate(config.bins)),
        config.prefix, list(enumerate(config.plcs)), list(enumerate(config.stations)), point_refs(config.plcs),
        list(enumerate(config.scales)),
    )


def valid_entries(data: dict[str, Any]) -> _Entries:
    """The entries that validate on their own, so cross-checks still run when other fields fail."""

    def valid(model: type[_M], key: str) -> list[tuple[int, _M]]:
        raw = data.get(key)
        adapter = TypeAdapter(model)
        out: list[tuple[int, _M]] = []
        for index, entry in enumerate(raw if isinstance(raw, list) else []):
            try:
                out.append((index, adapter.validate_python(entry)))
            except ValidationError as exc:
                # Without its failing fields the entry may still validate (a typo'd extra key, a bad
                # optional value), so the cross-checks can report its other problems in the same run.
                bad = {err["loc"][0] for err in exc.errors() if err["loc"]}
                if isinstance(entry, dict):
                    with contextlib.suppress(ValidationError):
                        out.append((index, adapter.validate_python({k: v for k, v in entry.items() if k not in bad})))
        return out

    mqtt = data.get("mqtt")
    prefix = mqtt.get("topic_prefix") if isinstance(mqtt, dict) else None
    site = data.get("site")
    return _Entries(
        valid(Supplier, "suppliers"), valid(Item, "items"), valid(Bin, "bins"),
        str(prefix) if prefix else f"kanban/{site}", valid(Plc, "plcs"), valid(Station, "stations"),
        point_refs(raw_plcs if isinstance(raw_plcs := data.get("plcs"), list) else []),
        valid(ScaleDevice, "scales"),
    )


def cross_check(entries: _Entries) -> list[tuple[Path_, str]]:
    """Rules that span fields and entries: unique ids, references, thresholds."""
    problems = _duplicates("suppliers", "id", ((i, s.id) for i, s in entries.suppliers))
    problems += _duplicates("items", "sku", ((i, it.sku) for i, it in entries.items))
    problems += _duplicates("bins", "id", ((i, b.id) for i, b in entries.bins))
    supplier_ids = {s.id for _, s in entries.suppliers}
    skus = {it.sku for _, it in entries.items}
    for i, item in entries.items:
        if item.supplier is not None and item.supplier not in supplier_ids:
            problems.append((("items", i, "supplier"), f"unknown supplier {item.supplier!r}"))
    bin_ids = {b.id for _, b in entries.bins}
    standard = f"{entries.prefix}/scale/"
    topics: dict[str, str] = {}  # own topics: the standard ones are as unique as the bin ids
    on_own = {b.id for _, b in entries.bins if b.scale.topic is not None}
    for i, b in entries.bins:
        if b.sku not in skus:
            problems.append((("bins", i, "sku"), f"unknown sku {b.sku!r} (not in items)"))
        if thresholds := _thresholds(b):
            problems += [(("bins", i, field), reason) for field, reason in thresholds]
        if (topic := b.scale.topic) is None:
            continue
        user = topics.get(topic)
        named = topic[len(standard):] if topic.startswith(standard) else None
        if user is None and named in bin_ids and named not in on_own:
            user = named  # the standard topic of that bin
        if user is not None and user != b.id:
            problems.append((("bins", i, "scale", "topic"), f"topic {topic} is already used by bin {user}"))
        topics.setdefault(topic, b.id)
    problems += cross_check_scales(entries.scales, bin_ids)
    if any(plc.lights for _, plc in entries.plcs):
        andon = {f"{b.line}/{b.station}" for _, b in entries.bins} | {f"{s.line}/{s.id}" for _, s in entries.stations}
        problems += cross_check_lights(entries.plcs, andon)
    if any(station.consumes for _, station in entries.stations):
        problems += cross_check_backflush(entries.stations, {b.id: b.receive_by_scale for _, b in entries.bins})
    return problems + cross_check_floor(entries.plcs, entries.stations, entries.points)


def _duplicates(section: str, field: str, ids: Iterable[tuple[int, str]]) -> list[tuple[Path_, str]]:
    seen: set[str] = set()
    problems: list[tuple[Path_, str]] = []
    for index, ident in ids:
        if ident in seen:
            problems.append(((section, index, field), f"duplicate {field} {ident!r}"))
        seen.add(ident)
    return problems


def _thresholds(b: Bin) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    capacity = b.capacity
    if b.reorder_point >= b.container_qty:
        problems.append(
            ("reorder_point", f"must be below container_qty ({b.reorder_point} >= {b.container_qty})")
        )
    if capacity < b.container_qty:
        problems.append(("capacity_pieces", f"must hold at least one container ({b.container_qty})"))
    if b.safety_stock > b.reorder_point:
        problems.append(("safety_stock", f"must not be above reorder_point ({b.safety_stock} > {b.reorder_point})"))
    if b.reset_point is None and problems:
        return problems  # the derived reset point follows from the error above
    reset = b.reset
    if reset <= b.reorder_point:
        problems.append(("reset_point", f"must be above reorder_point ({reset} <= {b.reorder_point})"))
    elif reset >= capacity:
        problems.append(("reset_point", f"must be below the bin's capacity ({reset} >= {capacity})"))
    elif b.cards > 1 and reset - b.reorder_point >= b.container_qty:
        problems.append(
            ("reset_point", f"must be less than a container above reorder_point when the loop has several cards"
             f" ({reset} >= {b.reorder_point + b.container_qty})")
        )
    return problems


@dataclass(frozen=True, slots=True)
class SiteTopics:
    """Where a site's topics live: what the central broker, which carries every site's, tells them apart by."""

    file: str
    site: str
    prefix: str
    prefix_at: Path_  # mqtt.topic_prefix, or the site id it defaults from


def site_topics(file: str, config: PlantConfig) -> SiteTopics:
    """The topics of one site's plant file."""
    at: Path_ = ("mqtt", "topic_prefix") if config.mqtt.topic_prefix else ("site",)
    return SiteTopics(file, config.site, config.prefix, at)


def _outbound_levels(config: PlantConfig) -> Iterator[tuple[Path_, str]]:
    """Every value of the plant file that becomes part of a topic the service publishes."""
    yield site_topics("", config).prefix_at, config.prefix
    for i, b in enumerate(config.bins):
        yield from ((("bins", i, field), getattr(b, field)) for field in ("id", "line", "station"))
    for i, s in enumerate(config.stations):
        yield from ((("stations", i, field), getattr(s, field)) for field in ("id", "line"))
    for i, plc in enumerate(config.plcs):
        yield ("plcs", i, "id"), plc.id


def bridge_problems(config: PlantConfig) -> list[tuple[Path_, str]]:
    """Values that would reach a central broker as other topics than they are, or not at all."""
    problems: list[tuple[Path_, str]] = []
    seen: set[str] = set()
    for path, value in _outbound_levels(config):
        if value in seen or not (bad := sorted({c for c in value if c in ". "})):
            continue
        seen.add(value)
        chars = " and ".join(repr(c) for c in bad)
        problems.append((path, f"{value!r} has {chars}, which a central broker's MQTT listener does not carry"
                               " (NATS refuses the topic, RabbitMQ turns '.' into '/'): docs/SCALE-OUT.md"))
    return problems


def cross_check_sites(sites: Sequence[SiteTopics]) -> list[tuple[int, Path_, str]]:
    """Sites bridged into one broker: no two share a site id, and no site's topics lie among another's."""
    problems: list[tuple[int, Path_, str]] = []
    for j, later in enumerate(sites):
        for earlier in sites[:j]:
            if later.site == earlier.site:
                problems.append((j, ("site",), f"site {later.site!r} is also the site of {earlier.file}"))
            elif _nested(later.prefix, earlier.prefix):
                problems.append((j, later.prefix_at, f"topics {later.prefix}/... overlap those of site "
                                                     f"{earlier.site!r} ({earlier.file}: {earlier.prefix}/...)"))
    return problems


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")
