"""YAML loading that remembers where every value came from and substitutes `${VAR}` from the environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

Path_ = tuple[str | int, ...]
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# libyaml's parser is five times faster on a plant with thousands of bins, and keeps line numbers too.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class SourceIssue:
    """One problem found while reading the file, before any model sees it."""

    line: int
    path: Path_
    reason: str


@dataclass(slots=True)
class Located:
    """A YAML document as plain data, with the line of every mapping key and list item."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)
    issues: list[SourceIssue] = field(default_factory=list)

    def line_of(self, path: Path_) -> int:
        """Line of the longest prefix of `path` that appears in the file (1 when none does)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def load_yaml(text: str, env: Mapping[str, str]) -> Located:
    """Parse YAML text; a syntax error becomes a `SourceIssue` rather than an exception."""
    located = Located(data=None)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        located.issues.append(SourceIssue(line, (), f"YAML syntax: {exc.problem or exc}"))
        return located
    if node is None:
        located.data = {}
        return located
    located.data = _Builder(located, env).build(node, ())
    return located


class _Builder:
    def __init__(self, located: Located, env: Mapping[str, str]) -> None:
        self._located = located
        self._env = env
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self._located.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self._scalars.construct_object(node)
        if isinstance(value, str) and "${" in value:
            return self._substitute(value, node.start_mark.line + 1, path)
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(self._scalars.construct_object(key_node))
            key_path = (*path, key)
            line = key_node.start_mark.line + 1
            if key in result:
                self._located.issues.append(SourceIssue(line, key_path, "duplicate key"))
                continue
            self._located.lines[key_path] = line
            result[key] = self.build(value_node, key_path)
        return result

    def _substitute(self, value: str, line: int, path: Path_) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self._env:
                self._located.issues.append(
                    SourceIssue(line, path, f"environment variable {name} is not set")
                )
                return ""
            return self._env[name]

        return _ENV_REF.sub(replace, value)
