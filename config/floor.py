"""Plant-file sections for the shop floor: PLCs with their register maps, and stations fed by their counters."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from config.base import Ident, Path_, Section
from config.opcua import NodeId, OpcUaConfig
from rules.backflush import Consumption
from rules.counters import CounterSpec, width_max
from rules.floor import PlcSpec
from rules.limits import MAX_COUNT
from rules.stations import StationSpec

PointType = Literal["bool", "uint16", "int16", "uint32", "int32", "uint64", "float32", "float64"]
Table = Literal["holding", "input", "coil", "discrete"]
WordOrder = Literal["ABCD", "CDAB", "BADC", "DCBA"]

REGISTERS = {"bool": 1, "uint16": 1, "int16": 1, "uint32": 2, "int32": 2, "uint64": 4, "float32": 2, "float64": 4}
"""16-bit registers per value of each type (a bool is one coil or discrete input)."""

FLOAT32_MAX = 3.4028234663852886e38
"""The largest finite float32 (0x7f7fffff), about 3.4028235e38."""


@dataclass(frozen=True, slots=True)
class PointDomain:
    """The values a point can carry on its topic: `low`..`high`; only whole numbers when `whole`; true and
    false only when `flag` (a bool point, which also takes 0 and 1)."""

    low: int | float
    high: int | float
    whole: bool
    flag: bool


def _raw_range(type_: PointType) -> tuple[int | float, int | float]:
    if type_ == "float32":
        return -FLOAT32_MAX, FLOAT32_MAX
    if type_ == "float64":
        return -sys.float_info.max, sys.float_info.max
    top = width_max(type_)
    return (0, top) if type_.startswith("u") else (-top - 1, top)


STATUS_POINT = "status"
"""`<prefix>/plc/<plc>/status` carries the poller's view of the PLC, so no point may have this name."""


class CounterConfig(Section):
    """A cumulative counter: wraps to 0 after `max_value` (default: the type's largest value)."""

    max_value: int | None = Field(default=None, ge=1)
    max_step: int = Field(default=10_000, ge=1, le=MAX_COUNT)


class Point(Section):
    """One value read from a PLC: a Modbus register or bit at `address` (zero-based: holding register 40001 is
    address 0), or an OPC UA `node`."""

    name: Ident
    table: Table = "holding"
    address: int | None = Field(default=None, ge=0, le=65535)
    node: NodeId | None = None
    type: PointType = "uint16"
    order: WordOrder = "ABCD"
    scale: float = 1.0
    offset: float = 0.0
    counter: CounterConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Point:
        if self.node is not None:
            modbus = sorted({"table", "address", "order"} & self.model_fields_set)
            if modbus:
                raise ValueError(f"an OPC UA point (node) has no Modbus {', '.join(modbus)}")
        elif self.address is not None:  # none at all: a point its PLC publishes itself (MQTT, Sparkplug B)
            bits = self.table in ("coil", "discrete")
            if bits != (self.type == "bool"):
                raise ValueError(f"a {self.table} point must have type {'bool' if bits else 'a number type'}")
            if self.address + REGISTERS[self.type] > 65536:
                raise ValueError(f"a {self.type} at address {self.address} runs past the last register 65535")
        if self.name == STATUS_POINT:
            raise ValueError(f"point name {STATUS_POINT!r} is reserved for the PLC's status topic")
        if self.counter is not None:
            if not self.type.startswith(("uint", "int")):
                raise ValueError("a counter must have an integer type")
            if (self.scale, self.offset) != (1.0, 0.0):
                raise ValueError("a counter counts units: scale 1 and offset 0")
            top = self.counter.max_value
            if top is not None and top > width_max(self.type):
                raise ValueError(f"counter.max_value {top} does not fit in {self.type}")
        return self

    @property
    def modbus_address(self) -> int:
        """The Modbus address of a point of a Modbus PLC (which `Plc` checks every point has)."""
        assert self.address is not None
        return self.address

    def domain(self) -> PointDomain:
        """What this point can carry: `raw × scale + offset` for every raw value its type holds (a bool: 0 or 1).

        An integer point without scale and offset carries the raw whole numbers themselves. The ends are
        computed as the poller computes a value, so every value it publishes is inside.
        """
        if self.type == "bool":
            return PointDomain(0, 1, whole=True, flag=True)
        low, high = _raw_range(self.type)
        if (self.scale, self.offset) == (1.0, 0.0):
            return PointDomain(low, high, whole=not self.type.startswith("float"), flag=False)
        ends = (low * self.scale + self.offset, high * self.scale + self.offset)  # a negative scale swaps them
        return PointDomain(min(ends), max(ends), whole=False, flag=False)

    def counter_max(self) -> int:
        """The value after which this counter wraps to 0."""
        assert self.counter is not None
        return self.counter.max_value or width_max(self.type)


class SerialConfig(Section):
    """Modbus RTU over a serial line instead of TCP."""

    port: str = Field(min_length=1)
    baudrate: int = Field(default=19200, gt=0)
    parity: Literal["N", "E", "O"] = "E"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


StationKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*/[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
"""A station as its Andon topic names it: `<line>/<station>`."""

LIGHT_CODES = {"green": 1, "yellow": 2, "red": 3, "blue": 4}
"""What a stack light's `holding_register` is set to for each colour."""


class LampCoils(Section):
    """The coil that lights each lamp of a stack light (a lamp not wired: leave it out)."""

    green: int | None = Field(default=None, ge=0, le=65535)
    yellow: int | None = Field(default=None, ge=0, le=65535)
    red: int | None = Field(default=None, ge=0, le=65535)
    blue: int | None = Field(default=None, ge=0, le=65535)


class LampNodes(Section):
    """The boolean OPC UA node that lights each lamp of a stack light (a lamp not wired: leave it out)."""

    green: NodeId | None = None
    yellow: NodeId | None = None
    red: NodeId | None = None
    blue: NodeId | None = None


class StackLight(Section):
    """An Andon stack light wired to a PLC: over Modbus one coil per lamp or one holding register set to a
    colour code; over OPC UA one boolean node per lamp or one integer node set to a colour code."""

    station: StationKey
    coils: LampCoils | None = None
    holding_register: int | None = Field(default=None, ge=0, le=65535)
    lamp_nodes: LampNodes | None = None
    node: NodeId | None = None

    @model_validator(mode="after")
    def _one_output(self) -> StackLight:
        given = [o for o in (self.coils, self.holding_register, self.lamp_nodes, self.node) if o is not None]
        if len(given) != 1:
            raise ValueError(
                "give coils or holding_register (Modbus), or lamp_nodes or node (OPC UA), exactly one of them"
            )
        return self

    @property
    def opcua(self) -> bool:
        """Whether the light is written over OPC UA."""
        return self.lamp_nodes is not None or self.node is not None


class Plc(Section):
    """A PLC: polled over Modbus TCP (`host`) or RTU (`serial`), read over OPC UA (`opcua`), or publishing its
    points on MQTT itself."""

    id: Ident
    host: str | None = None
    port: int = Field(default=502, ge=1, le=65535)
    serial: SerialConfig | None = None
    opcua: OpcUaConfig | None = None
    device_id: int = Field(default=1, ge=0, le=247)
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=2.0, gt=0, le=60)
    heartbeat_s: float = Field(default=30.0, gt=0, le=3600)
    offline_after_s: float | None = Field(default=None, gt=0)
    points: list[Point] = []
    lights: list[StackLight] = []

    @model_validator(mode="after")
    def _one_transport(self) -> Plc:
        if sum(t is not None for t in (self.host, self.serial, self.opcua)) > 1:
            raise ValueError("give host (Modbus TCP), serial (Modbus RTU) or opcua, only one of them")
        if self.lights and not self.polled:
            raise ValueError("stack lights need a PLC the poller reaches (host, serial or opcua)")
        if self.opcua is not None and (modbus := sorted({"port", "device_id"} & self.model_fields_set)):
            raise ValueError(f"an OPC UA PLC has no Modbus {', '.join(modbus)}")
        on_opcua = self.opcua is not None
        nodes = [p.node for p in self.points if p.node is not None]
        if twice := sorted({node for node in nodes if nodes.count(node) > 1}):
            raise ValueError(f"points read {', '.join(twice)} twice: one point per node")
        wrong = [f"point {p.name}" for p in self.points if (p.node is None) == on_opcua]
        wrong += [f"stack light {light.station}" for light in self.lights if light.opcua != on_opcua]
        if wrong and on_opcua:
            raise ValueError(f"{', '.join(wrong)}: an OPC UA PLC's points need node, its lights lamp_nodes or node")
        if wrong:
            raise ValueError(f"{', '.join(wrong)}: OPC UA nodes need the PLC's opcua: endpoint")
        unaddressed = [p.name for p in self.points if p.address is None]
        if unaddressed and (self.host is not None or self.serial is not None):
            raise ValueError(f"point(s) {', '.join(unaddressed)}: a Modbus PLC's points need an address")
        return self

    @property
    def polled(self) -> bool:
        """Whether an edge poller reads this PLC (else it publishes on MQTT itself)."""
        return self.host is not None or self.serial is not None or self.opcua is not None

    @property
    def offline_after(self) -> float:
        """Silence after which the PLC counts as offline: as configured, else three heartbeats."""
        return self.offline_after_s or 3 * self.heartbeat_s


class EdgeConfig(Section):
    """Device adapters (Modbus pollers, MT-SICS scales): run by `kanban-edge edge`, or inside the gateway."""

    in_gateway: bool = False


class ScaleDevice(Section):
    """A Mettler Toledo scale spoken to over MT-SICS (TCP or serial); its weights go to its bin's scale topic."""

    bin: Ident
    protocol: Literal["mt-sics"] = "mt-sics"
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    serial: SerialConfig | None = None
    command: Literal["SI", "S"] = "SI"
    poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=2.0, gt=0, le=60)

    @model_validator(mode="after")
    def _one_transport(self) -> ScaleDevice:
        if (self.host is None) == (self.serial is None):
            raise ValueError("give host and port (TCP) or serial, exactly one of them")
        if self.host is not None and self.port is None:
            raise ValueError("a TCP scale needs its port")
        return self


def cross_check_lights(plcs: Iterable[tuple[int, Plc]], stations: set[str]) -> list[tuple[Path_, str]]:
    """A stack light shows a station that has an Andon colour (a configured station or bins' line/station)."""
    problems: list[tuple[Path_, str]] = []
    seen: set[str] = set()
    for i, plc in plcs:
        for j, light in enumerate(plc.lights):
            if light.station not in stations:
                problems.append((("plcs", i, "lights", j, "station"), f"no station {light.station} (line/station)"))
            elif light.station in seen:
                problems.append((("plcs", i, "lights", j, "station"), f"{light.station} already has a stack light"))
            seen.add(light.station)
    return problems


def cross_check_backflush(
    stations: Iterable[tuple[int, Station]], receive_by_scale: dict[str, bool]
) -> list[tuple[Path_, str]]:
    """A consumed bin exists and is not also receiving by scale (its estimated rises are receipts already)."""
    problems: list[tuple[Path_, str]] = []
    for i, station in stations:
        for j, use in enumerate(station.consumes):
            where: Path_ = ("stations", i, "consumes", j, "bin")
            if use.bin not in receive_by_scale:
                problems.append((where, f"unknown bin {use.bin!r}"))
            elif receive_by_scale[use.bin]:
                problems.append((where, f"bin {use.bin!r} is backflushed: set its receive_by_scale: false"))
    return problems


def consumptions(stations: Iterable[Station]) -> list[Consumption]:
    """The rules' view of every station's bin uses."""
    return [Consumption(s.id, use.bin, use.per_unit) for s in stations for use in s.consumes]


def cross_check_scales(scales: Iterable[tuple[int, ScaleDevice]], bin_ids: set[str]) -> list[tuple[Path_, str]]:
    """A scale device names a configured bin, and no bin has two."""
    problems: list[tuple[Path_, str]] = []
    seen: set[str] = set()
    for i, scale in scales:
        if scale.bin not in bin_ids:
            problems.append((("scales", i, "bin"), f"unknown bin {scale.bin!r}"))
        elif scale.bin in seen:
            problems.append((("scales", i, "bin"), f"bin {scale.bin!r} already has a scale device"))
        seen.add(scale.bin)
    return problems


PointRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*/[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
"""A point as `<plc id>/<point name>`."""


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ClockTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Shift(Section):
    """When a line runs: local `start`..`end` (HH:MM) on `days`; an `end` at or before `start` ends next day."""

    days: list[Day] = list(_DAYS[:5])
    start: ClockTime
    end: ClockTime


class Schedule(Section):
    """A station's working time, in a time zone of the IANA database (e.g. Europe/Berlin)."""

    timezone: str = "UTC"
    shifts: list[Shift] = Field(min_length=1)

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def running(self, ts: float) -> bool:
        """Whether a shift covers epoch time `ts`."""
        local = datetime.fromtimestamp(ts, ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        today, yesterday = _DAYS[local.weekday()], _DAYS[local.weekday() - 1]
        for shift in self.shifts:
            start, end = _minutes(shift.start), _minutes(shift.end)
            if start < end:
                if today in shift.days and start <= minute < end:
                    return True
            elif (today in shift.days and minute >= start) or (yesterday in shift.days and minute < end):
                return True
        return False


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class BinUse(Section):
    """Backflush: each unit the station puts out uses `per_unit` pieces from the bin (a loop without a scale)."""

    bin: Ident
    per_unit: float = Field(gt=0, le=1_000_000)


class Station(Section):
    """A station: WIP = units counted in minus units counted out; an input may be the previous station's output."""

    id: Ident
    line: Ident
    in_counters: list[PointRef] = []
    out_counters: list[PointRef] = []
    wip_warning: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    wip_limit: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    hysteresis: int = Field(default=0, ge=0, le=MAX_COUNT)
    material_call: PointRef | None = None
    stalled_after_s: float | None = Field(default=None, gt=0)
    schedule: Schedule | None = None
    consumes: list[BinUse] = []

    @model_validator(mode="after")
    def _levels(self) -> Station:
        if self.wip_warning is not None and self.wip_limit is not None and self.wip_warning >= self.wip_limit:
            raise ValueError(f"wip_warning must be below wip_limit ({self.wip_warning} >= {self.wip_limit})")
        both = set(self.in_counters) & set(self.out_counters)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} cannot count both in and out")
        return self


def point_refs(plcs: Iterable[Plc | Any]) -> dict[str, bool]:
    """`<plc>/<point>` of every point → whether it is a counter, from validated PLCs or raw plant data.

    Read from the raw data when a PLC has errors, so stations that name its points are not reported too.
    """
    refs: dict[str, bool] = {}
    for plc in plcs:
        raw = plc.model_dump() if isinstance(plc, Plc) else plc
        points = raw.get("points") if isinstance(raw, dict) else None
        for point in points if isinstance(points, list) else []:
            if isinstance(point, dict):
                ref = f"{raw.get('id')}/{point.get('name')}"  # a duplicate name is reported on its own
                refs[ref] = refs.get(ref, False) or point.get("counter") is not None
    return refs


def cross_check_floor(
    plcs: Iterable[tuple[int, Plc]], stations: Iterable[tuple[int, Station]], points: dict[str, bool]
) -> list[tuple[Path_, str]]:
    """Unique ids and point names; stations name counter points (and a point for the material call)."""
    problems: list[tuple[Path_, str]] = []
    seen_plcs: set[str] = set()
    for i, plc in plcs:
        if plc.id in seen_plcs:
            problems.append((("plcs", i, "id"), f"duplicate id {plc.id!r}"))
        seen_plcs.add(plc.id)
        names: set[str] = set()
        for j, point in enumerate(plc.points):
            if point.name in names:
                problems.append((("plcs", i, "points", j, "name"), f"duplicate point name {point.name!r}"))
            names.add(point.name)
    seen_stations: set[str] = set()
    for i, station in stations:
        if station.id in seen_stations:
            problems.append((("stations", i, "id"), f"duplicate id {station.id!r}"))
        seen_stations.add(station.id)
        for field in ("in_counters", "out_counters"):
            for j, ref in enumerate(getattr(station, field)):
                if not points.get(ref, False):
                    problems.append((("stations", i, field, j), f"{ref} is not a counter point of a configured PLC"))
        if station.material_call is not None and station.material_call not in points:
            problems.append((("stations", i, "material_call"), f"{station.material_call} is not a configured point"))
    return problems


def counter_specs(plcs: Iterable[Plc]) -> list[CounterSpec]:
    """The rules' view of every counter point, ids `<plc>/<point>`."""
    return [
        CounterSpec(f"{plc.id}/{p.name}", max_value=p.counter_max(), max_step=min(p.counter.max_step, p.counter_max()))
        for plc in plcs
        for p in plc.points
        if p.counter is not None
    ]


def plc_specs(plcs: Iterable[Plc]) -> list[PlcSpec]:
    """The rules' view of every PLC's liveness."""
    return [PlcSpec(plc.id, offline_after_s=plc.offline_after) for plc in plcs]


def station_specs(stations: Iterable[Station]) -> list[StationSpec]:
    """The rules' view of every station."""
    return [
        StationSpec(
            s.id, s.line, inputs=tuple(s.in_counters), outputs=tuple(s.out_counters),
            wip_warning=s.wip_warning, wip_limit=s.wip_limit, hysteresis=s.hysteresis,
            stalled_after_s=s.stalled_after_s,
        )
        for s in stations
    ]
