"""Reading a plant file: YAML with `${VAR}`, the models, the checks that span sections; every problem at once.

Errors are collected, never raised one at a time: `load_config` raises a `ConfigError` that lists every
problem with its file, line, field path and reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.base import Path_
from config.checks import bridge_problems, cross_check, cross_check_sites, entries_of, site_topics, valid_entries
from config.plant import PlantConfig
from config.rfid import rfid_problems
from config.sparkplug import sparkplug_problems
from config.targets import target_problems


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
    from config.yaml_source import MAX_FILE_BYTES, load_yaml

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


def check_sites(plants: Sequence[tuple[Path, PlantConfig]], env: Mapping[str, str] | None = None) -> list[ConfigIssue]:
    """The problems of valid plant files whose sites are bridged into one central broker (docs/SCALE-OUT.md)."""
    from config.yaml_source import load_yaml

    sites = [site_topics(str(path), config) for path, config in plants]
    problems = [(i, p, reason) for i, (_, config) in enumerate(plants) for p, reason in bridge_problems(config)]
    problems += cross_check_sites(sites)
    located = {
        index: load_yaml(plants[index][0].read_text(encoding="utf-8"), os.environ if env is None else env)
        for index in {index for index, _, _ in problems}
    }
    return [
        ConfigIssue(str(plants[index][0]), located[index].line_of(p), _dotted(p), reason)
        for index, p, reason in problems
    ]


def _validate(data: dict[str, Any]) -> tuple[PlantConfig | None, list[tuple[Path_, str]]]:
    try:
        config = PlantConfig.model_validate(data)
    except ValidationError as exc:
        problems = [(tuple(err["loc"]), _reason(err)) for err in exc.errors()]
        return None, problems + cross_check(valid_entries(data))
    tagged = bool(config.rfid.tags or config.rfid.asset_types)  # what the loops' tags are checked against
    cards = {b.id: b.cards for b in config.bins} if tagged else {}
    by_scale = {b.id: b.receive_by_scale for b in config.bins} if tagged else {}
    problems = cross_check(entries_of(config)) + rfid_problems(config.rfid, cards, by_scale)
    if config.sparkplug.nodes:
        stale_after = {b.id: b.stale_after_s for b in config.bins}
        points = {f"{plc.id}/{p.name}": None if plc.polled else plc.offline_after for plc in config.plcs
                  for p in plc.points}
        problems += sparkplug_problems(config.sparkplug, stale_after, points)
    if config.targets:
        problems += target_problems(
            config.targets, site=config.site, bins=config.bins, items=config.items_by_sku,
            suppliers={s.id: s for s in config.suppliers},
        )
    return config, problems


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

