"""The plant file: one YAML document validated into typed, immutable settings.

Errors are collected, never raised one at a time: `load_config` raises a `ConfigError` that lists every
problem with its file, line, field path and reason.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic.dataclasses import dataclass as validated_dataclass

from connectors.settings import InfluxConfig, OutboxConfig, WebhookConfig
from gateway.analytics_config import AnalyticsConfig
from gateway.config_base import Ident, Path_
from gateway.floor_config import (
    EdgeConfig,
    Plc,
    ScaleDevice,
    Station,
    cross_check_backflush,
    cross_check_floor,
    cross_check_lights,
    cross_check_scales,
    point_refs,
)
from gateway.rfid_config import RfidConfig, rfid_problems
from rules.limits import MAX_COUNT
from rules.scale_bin import BinSpec


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# A plant has one of these per loop, tens of thousands of them: slotted dataclasses take ~0.3 kB a loop where
# models (a `__dict__`, a fields-set and nested models each) took 1.7 kB. Validation and errors are the same.
_per_loop = validated_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))


MAX_WEIGHT_G = 1e9
"""The heaviest weight a plant file may give (a tonne): far beyond any bin, and weights stay exact in floats."""
MAX_CARDS = 100
MAX_CAPACITY = MAX_COUNT // 2
"""A bin's pieces: a reading may go 20 % over capacity before it is refused, and pieces stay within MAX_COUNT."""
MAX_CONTAINER = MAX_CAPACITY // MAX_CARDS
"""A container's pieces: a full loop of `MAX_CARDS` containers stays within a bin's capacity."""


class TlsConfig(_Model):
    """TLS towards the broker; the files are PEM."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value


class MqttConfig(_Model):
    """Broker connection. `client_id` and `topic_prefix` default from the site id."""

    url: str = "mqtt://localhost:1883"
    client_id: Ident | None = None
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsConfig | None = None
    topic_prefix: str | None = Field(default=None, pattern=r"^[^+#]+[^/+#]$")
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_max_s: float = Field(default=30.0, ge=1.0, le=600.0)
    # MQTT 5 only (3.1.1 sessions last until the broker's own expiry): how long the broker keeps the service's
    # session, and the QoS 1 readings queued for it, while the service is down. 4294967295: never expires.
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=0xFFFFFFFF)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError("scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("no host in url")
        _ = parts.port  # raises ValueError for a port that is not a number in range
        return value

    @property
    def host(self) -> str:
        """Broker host name."""
        return urlsplit(self.url).hostname or "localhost"

    @property
    def use_tls(self) -> bool:
        """Whether the url asks for TLS (mqtts://) or TLS files are given."""
        return urlsplit(self.url).scheme in ("mqtts", "ssl") or self.tls is not None

    @property
    def port(self) -> int:
        """Broker port: as given, else 8883 with TLS and 1883 without."""
        return urlsplit(self.url).port or (8883 if self.use_tls else 1883)


class StorageConfig(_Model):
    """Where state lives. Relative paths are relative to the working directory."""

    path: Path = Path("data/kanban-edge.db")
    snapshot_interval_s: float = Field(default=10.0, gt=0, le=3600)
    # Committed events older than this are deleted once published and handed to the connectors: a PLC
    # counter logs an event per part, so an unbounded log would fill the disk of a busy plant.
    event_log_days: float = Field(default=30.0, gt=0, le=3650)


class ApiConfig(_Model):
    """The HTTP API. The default listens on loopback only; set host 0.0.0.0 to serve the plant network."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/]+")  # for links sent to suppliers
    event_stream_max_queued: int = Field(default=10_000, ge=1, le=10_000_000)  # per live-stream client
    # A request body over this is refused with 413 before it is read whole (the API's bodies are a few bytes).
    max_body_bytes: int = Field(default=65536, ge=1024, le=16 << 20)


class IngestConfig(_Model):
    """Limits applied to every incoming payload."""

    max_payload_bytes: int = Field(default=65536, ge=16, le=1 << 20)
    max_clock_skew_s: float = Field(default=300.0, ge=0)


class Supplier(_Model):
    """Who replenishes."""

    id: Ident
    name: str
    lead_time_h: float = Field(ge=0)
    webhook: WebhookConfig | None = None


class Item(_Model):
    """A part number."""

    sku: Ident
    description: str = ""
    unit_weight_g: float = Field(gt=0, le=MAX_WEIGHT_G, allow_inf_nan=False)
    supplier: Ident | None = None
    gtin: str | None = Field(default=None, pattern=r"^(\d{8}|\d{12,14})$")  # RFID tags count by it

    @property
    def gtin14(self) -> str | None:
        """The GTIN padded to 14 digits, as SGTIN-96 tags decode."""
        return self.gtin.zfill(14) if self.gtin else None


@_per_loop
class ScaleConfig:
    """The scale under a bin."""

    tare_g: float = Field(default=0.0, ge=0, le=MAX_WEIGHT_G, allow_inf_nan=False)
    topic: str | None = Field(default=None, min_length=1, pattern=r"^[^+#]+$")
    zero_tolerance_g: float = Field(default=50.0, ge=0, le=MAX_WEIGHT_G, allow_inf_nan=False)


@_per_loop
class Debounce:
    """How long a level must stay past a threshold: both conditions must hold."""

    readings: int = Field(default=2, ge=1, le=1000)
    seconds: float = Field(default=0.0, ge=0, le=3600)


@_per_loop
class Bin:
    """A kanban loop at a point of use, watched by a scale: `cards` containers of `container_qty` pieces."""

    id: Ident
    sku: Ident
    line: Ident
    station: Ident
    container_qty: int = Field(gt=0, le=MAX_CONTAINER)
    cards: int = Field(default=1, ge=1, le=MAX_CARDS)
    reorder_point: int = Field(ge=0, le=MAX_CAPACITY)
    reset_point: int | None = Field(default=None, ge=0, le=MAX_CAPACITY)
    capacity_pieces: int | None = Field(default=None, gt=0, le=MAX_CAPACITY)
    scale: ScaleConfig = ScaleConfig()
    debounce: Debounce = Debounce()
    stale_after_s: float = Field(default=300.0, gt=0, le=7 * 86400)
    safety_stock: int = Field(default=0, ge=0, le=MAX_CAPACITY)
    receive_by_scale: bool = True
    receive_tolerance: float = Field(default=0.25, gt=0, lt=0.5)
    predictive_margin_h: float | None = Field(default=None, ge=0)  # set: release early (docs/ANALYTICS.md)

    @property
    def capacity(self) -> int:
        """Pieces in a full bin: as configured, else cards × container quantity."""
        return self.capacity_pieces or self.cards * self.container_qty

    @property
    def reset(self) -> int:
        """Level above which the bin re-arms: as configured, else half a container above the reorder point."""
        if self.reset_point is not None:
            return self.reset_point
        return min(self.reorder_point + math.ceil(self.container_qty / 2), self.capacity - 1)


class PlantConfig(_Model):
    """A whole plant file."""

    site: Ident
    mqtt: MqttConfig = MqttConfig()
    storage: StorageConfig = StorageConfig()
    api: ApiConfig = ApiConfig()
    ingest: IngestConfig = IngestConfig()
    outbox: OutboxConfig = OutboxConfig()
    influx: InfluxConfig | None = None
    suppliers: list[Supplier] = []
    items: list[Item] = []
    bins: list[Bin] = []
    plcs: list[Plc] = []
    stations: list[Station] = []
    rfid: RfidConfig = RfidConfig()
    analytics: AnalyticsConfig = AnalyticsConfig()
    edge: EdgeConfig = EdgeConfig()
    scales: list[ScaleDevice] = []

    @property
    def prefix(self) -> str:
        """Topic prefix: as configured, else kanban/<site>."""
        return self.mqtt.topic_prefix or f"kanban/{self.site}"

    @property
    def client_id(self) -> str:
        """MQTT client id: fixed, so the broker keeps the session across restarts."""
        return self.mqtt.client_id or f"kanban-edge-{self.site}"

    @property
    def outbox_path(self) -> Path:
        """The connectors' outbox: as configured, else next to the state database."""
        db = self.storage.path
        return self.outbox.path or db.with_name(f"{db.stem}-outbox.db")

    def scale_topic(self, bin_id: str, own_topic: str | None = None) -> str:
        """The topic a bin's scale publishes on: its own, else `<prefix>/scale/<bin id>`."""
        return own_topic or f"{self.prefix}/scale/{bin_id}"

    @cached_property
    def items_by_sku(self) -> dict[str, Item]:
        """Items keyed by sku."""
        return {item.sku: item for item in self.items}

    def bin_specs(self) -> list[BinSpec]:
        """One record per bin, all the running service keeps of it (`gateway.plant`)."""
        items = self.items_by_sku
        return [
            BinSpec(
                bin_id=b.id,
                unit_weight_g=items[b.sku].unit_weight_g,
                tare_g=b.scale.tare_g,
                container_qty=b.container_qty,
                cards=b.cards,
                reorder_point=b.reorder_point,
                reset_point=b.reset,
                capacity_pieces=b.capacity,
                debounce_s=b.debounce.seconds,
                debounce_readings=b.debounce.readings,
                stale_after_s=b.stale_after_s,
                zero_tolerance_g=b.scale.zero_tolerance_g,
                safety_stock=b.safety_stock,
                receive_tolerance=b.receive_tolerance,
                receive_by_scale=b.receive_by_scale,
                sku=b.sku,
                line=b.line,
                station=b.station,
                supplier=items[b.sku].supplier,
                scale_topic=b.scale.topic,
                predictive_margin_h=b.predictive_margin_h,
            )
            for b in self.bins
        ]


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One configuration error, located."""

    file: str
    line: int
    path: str
    reason: str

    def __str__(self) -> str:
        where = f" {self.path}:" if self.path else ""
        return f"{self.file}:{self.line}:{where} {self.reason}"


class ConfigError(Exception):
    """The plant file is not valid; `issues` lists every problem."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(issue) for issue in issues))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[list[ConfigIssue]]]:
        return ConfigError, (self.issues,)  # sent back by the child that loads the file (`gateway.load_ahead`)


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> PlantConfig:
    """Read and validate a plant file, or raise `ConfigError` with every problem in it."""
    file = str(path)
    # Imported here: a service whose plant file was loaded in a child (`gateway.load_ahead`) never parses YAML.
    from gateway.yaml_source import MAX_FILE_BYTES, load_yaml

    try:
        with open(path, encoding="utf-8") as stream:
            size = os.fstat(stream.fileno()).st_size
            # A pipe or a device has no size: reading one character more than the limit tells.
            text = stream.read(MAX_FILE_BYTES + 1) if size <= MAX_FILE_BYTES else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigIssue(file, 1, "", f"cannot read file: {exc}")]) from exc
    if size > MAX_FILE_BYTES or len(text) > MAX_FILE_BYTES:
        limit = f"{MAX_FILE_BYTES / (1 << 20):g} MiB" + (f" ({size:,} bytes)" if size > MAX_FILE_BYTES else "")
        reason = f"the file is larger than {limit}, the most a plant file may have"
        raise ConfigError([ConfigIssue(file, 1, "", reason)])
    located = load_yaml(text, os.environ if env is None else env)
    problems: list[tuple[Path_, str]] = [(i.path, i.reason) for i in located.issues]
    lines = {i.path: i.line for i in located.issues}
    config: PlantConfig | None = None
    if not isinstance(located.data, dict):
        if located.data is not None or not problems:
            problems.append(((), "the file must be a mapping with at least `site:`"))
    else:
        config, model_problems = _validate(located.data)
        # A value already reported (an unset variable) is not reported again by the model.
        problems += [(p, reason) for p, reason in model_problems if p not in lines]
    if problems:
        issues = [
            ConfigIssue(file, lines.get(p) or located.line_of(p), _dotted(p), reason) for p, reason in problems
        ]
        raise ConfigError(sorted(issues, key=lambda i: i.line))
    assert config is not None
    return config


def _validate(data: dict[str, Any]) -> tuple[PlantConfig | None, list[tuple[Path_, str]]]:
    try:
        config = PlantConfig.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(err["loc"]), _reason(err)) for err in exc.errors()]
        return None, problems + cross_check(_valid_entries(data))
    tagged = bool(config.rfid.tags)  # what the loops' tags are checked against
    cards = {b.id: b.cards for b in config.bins} if tagged else {}
    by_scale = {b.id: b.receive_by_scale for b in config.bins} if tagged else {}
    return config, cross_check(_entries_of(config)) + rfid_problems(config.rfid, cards, by_scale)


def _reason(err: Any) -> str:
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return "unknown field (check the spelling)"
    if err["type"] in ("missing", "missing_argument"):
        return "required field is missing"
    return str(err["msg"]).removeprefix("Value error, ")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


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


def _entries_of(config: PlantConfig) -> _Entries:
    return _Entries(
        list(enumerate(config.suppliers)), list(enumerate(config.items)), list(enumerate(config.bins)),
        config.prefix, list(enumerate(config.plcs)), list(enumerate(config.stations)), point_refs(config.plcs),
        list(enumerate(config.scales)),
    )


def _valid_entries(data: dict[str, Any]) -> _Entries:
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
