"""The `sparkplug:` section of the plant file: Sparkplug B edge nodes the service listens to, and which of their
metrics are which of the plant's inputs (a bin's weight, a PLC point)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import Field, model_validator

from config.base import Ident, Path_, Section

SparkplugId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^/+#\x00-\x1f]+$")]
"""A group, edge node or device id: one MQTT topic level (Sparkplug B: no `/`, `+` or `#`)."""

_K = TypeVar("_K", bound=Hashable)

WeightUnit = Literal["g", "kg", "lb"]
GRAMS_PER_UNIT: Mapping[str, float] = {"g": 1.0, "kg": 1000.0, "lb": 453.59237}


class MetricMap(Section):
    """One metric of a node (or of one of its devices) that is one of the plant's inputs: a bin's gross
    weight in `unit`, or a PLC point `<plc id>/<point name>` (a counter feeds its stations' WIP; a bool point
    named by a station's `material_call` is its material call)."""

    name: str = Field(min_length=1, max_length=512)  # the metric's name as its BIRTH declares it
    device: SparkplugId | None = None  # None: a metric of the edge node itself
    bin: Ident | None = None
    unit: WeightUnit | None = None  # of a bin's weight; default g
    point: str | None = Field(default=None, pattern=r"^[^/]+/[^/]+$")

    @model_validator(mode="after")
    def _one_target(self) -> MetricMap:
        if (self.bin is None) == (self.point is None):
            raise ValueError("give bin (a bin's weight) or point (<plc id>/<point name>), one of them")
        if self.unit is not None and self.bin is None:
            raise ValueError("unit is the unit of a bin's weight: a point has its own type")
        return self

    @property
    def grams_per_unit(self) -> float:
        """What one unit of this weight metric is in grams."""
        return GRAMS_PER_UNIT[self.unit or "g"]


class SparkplugNode(Section):
    """A Sparkplug B edge node: `spBv1.0/<group>/<message type>/<node>[/<device>]`."""

    group: SparkplugId
    node: SparkplugId
    metrics: list[MetricMap] = Field(min_length=1)


class SparkplugConfig(Section):
    """Sparkplug B ingest, on a connection of its own to the `mqtt:` broker (clean session, as the
    specification asks of a host application)."""

    client_id: Ident | None = None  # default: the service's client id + "-sparkplug"
    # Sparkplug reports by exception: while a node is up its last values stand, and are applied again this often
    # (as a scale that publishes periodically would), so debouncing completes and stale alarms mean a dead node.
    repeat_s: float = Field(default=10.0, gt=0, le=3600)
    nodes: list[SparkplugNode] = []


def sparkplug_problems(
    sparkplug: SparkplugConfig, stale_after_s: Mapping[str, float], points: Mapping[str, float | None],
) -> list[tuple[Path_, str]]:
    """References and duplicates: mapped bins and points exist, a point is not also polled over Modbus, each
    input has one metric, a node and a metric are named once, and values repeat within the inputs' alarm times.

    `stale_after_s` is every bin's stale-after time; `points` every `<plc>/<point>` with its PLC's offline-after
    time, None for a PLC the edge poller reads."""
    problems = _duplicates(
        ((("sparkplug", "nodes", i, "node"), (n.group, n.node)) for i, n in enumerate(sparkplug.nodes)),
        lambda key: f"node {key[1]} of group {key[0]} is listed twice",
    )
    fed: dict[str, str] = {}  # input → the metric that feeds it
    for i, node in enumerate(sparkplug.nodes):
        where = ("sparkplug", "nodes", i, "metrics")
        problems += _duplicates(
            (((*where, j, "name"), (m.device, m.name)) for j, m in enumerate(node.metrics)),
            lambda key: f"metric {key[1]!r}{f' of device {key[0]}' if key[0] else ''} is mapped twice",
        )
        for j, metric in enumerate(node.metrics):
            problems += _target_problems(
                metric, (*where, j), sparkplug.repeat_s, stale_after_s=stale_after_s, points=points
            )
            target = f"bin {metric.bin}" if metric.bin is not None else f"point {metric.point}"
            source = f"{node.group}/{node.node}{f'/{metric.device}' if metric.device else ''}: {metric.name}"
            if target in fed:
                field = "bin" if metric.bin is not None else "point"
                problems.append(((*where, j, field), f"{target} is already fed by {fed[target]}"))
            fed.setdefault(target, source)
    return problems


def _target_problems(
    metric: MetricMap, where: Path_, repeat_s: float, *, stale_after_s: Mapping[str, float],
    points: Mapping[str, float | None],
) -> list[tuple[Path_, str]]:
    if metric.bin is not None:
        field, alarm_after, subject = "bin", stale_after_s.get(metric.bin), f"bin {metric.bin} goes stale"
        if alarm_after is None:
            return [((*where, field), f"unknown bin {metric.bin!r} (not in bins)")]
    else:
        assert metric.point is not None
        field, plc = "point", metric.point.partition("/")[0]
        if metric.point not in points:
            return [((*where, field), f"unknown point {metric.point!r} (no such point in plcs)")]
        alarm_after, subject = points[metric.point], f"PLC {plc} goes offline"
        if alarm_after is None:
            return [((*where, field), f"PLC {plc} is polled over Modbus (host or serial): its points come from there")]
    if alarm_after <= repeat_s:
        return [((*where, field), f"{subject} after {alarm_after:g} s, within sparkplug.repeat_s ({repeat_s:g} s): "
                                  "values repeat too seldom for it")]
    return []


def _duplicates(keyed: Iterable[tuple[Path_, _K]], reason: Callable[[_K], str]) -> list[tuple[Path_, str]]:
    seen: set[_K] = set()
    problems: list[tuple[Path_, str]] = []
    for where, key in keyed:
        if key in seen:
            problems.append((where, reason(key)))
        seen.add(key)
    return problems
