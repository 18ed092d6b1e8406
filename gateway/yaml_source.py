"""YAML loading that remembers where every value came from and substitutes `${VAR}` from the environment.

Lines are needed only to report problems, so a plain file (no anchors, aliases, explicit tags, merge keys,
duplicate keys or unset variables) is first built straight from libyaml's parse events, resolving each
distinct plain scalar once and keeping no node tree: with 50,000 bins this is four times faster than
composing a tree and takes a fraction of the memory. Its lines are found, by composing the tree, only when
something asks for one. Any other file is composed at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from gateway.config_base import Path_

# The largest plant file read. The bench's 50,000-loop plant is 6.8 MB (11 MB with an RFID tag per loop): the
# limit leaves room for several times that, and keeps a stray log or disk image from being read into memory.
MAX_FILE_BYTES = 64 << 20
# Mappings and lists nested deeper than this are refused. A plant file nests a handful of levels (the file,
# `bins`, a loop, its `scale`, ...; the example plant 6); the limit keeps the builders' recursion far from
# Python's recursion limit, and that of the C composer, which that limit does not stop, far from the C stack's.
MAX_DEPTH = 64

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
    find_lines: Callable[[], dict[Path_, int]] | None = None  # fills `lines` when first needed

    def line_of(self, path: Path_) -> int:
        """Line of the longest prefix of `path` that appears in the file (1 when none does)."""
        if self.find_lines is not None:
            self.lines, self.find_lines = self.find_lines(), None
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return 1


def load_yaml(text: str, env: Mapping[str, str]) -> Located:
    """Parse YAML text; a syntax error becomes a `SourceIssue` rather than an exception."""
    try:
        data = _PlainBuilder(env).build(text)
    except _OverLimitError as exc:
        return Located(data=None, issues=[exc.issue])
    except (_NotPlainError, yaml.YAMLError):
        return _compose(text, env)
    return Located(data=data, find_lines=lambda: compose_lines(text, env))


def compose_lines(text: str, env: Mapping[str, str]) -> dict[Path_, int]:
    """The line of every mapping key and list item of a plain file, found by composing its node tree."""
    return _compose(text, env, within_limits=True).lines  # the plain builder checked the nesting


def _compose(text: str, env: Mapping[str, str], *, within_limits: bool = False) -> Located:
    located = Located(data=None)
    try:
        if not within_limits and (issue := _limit_issue(text)) is not None:
            located.issues.append(issue)
            return located
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        # libyaml's scanner has a nesting limit of its own (1000), which a deep flow list can reach while it
        # looks ahead, before the parse events above go past ours: the same problem, said the same way.
        if exc.problem == "exceeded maximum nesting depth":
            located.issues.append(_too_deep(line))
        else:
            located.issues.append(SourceIssue(line, (), f"YAML syntax: {exc.problem or exc}"))
        return located
    if node is None:
        located.data = {}
        return located
    try:
        located.data = _Builder(located, env).build(node, ())
    except yaml.constructor.ConstructorError as exc:  # an unknown tag, or a merge key (`<<`)
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 1
        located.data = None
        located.issues.append(SourceIssue(line, (), f"YAML: {exc.problem}"))
    return located


def _limit_issue(text: str) -> SourceIssue | None:
    """The first limit the document goes over, found from its parse events before anything composes it."""
    parser = _LOADER(text)
    next_event: Callable[[], Any] = parser.get_event
    try:
        depth = 0
        while (kind := type(event := next_event())) is not yaml.StreamEndEvent:
            if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                depth += 1
                if depth > MAX_DEPTH:
                    return _too_deep(event.start_mark.line + 1)
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                depth -= 1
    finally:
        parser.dispose()
    return None


def _too_deep(line: int) -> SourceIssue:
    return SourceIssue(line, (), f"YAML: mappings and lists nested more than {MAX_DEPTH} levels deep")


class _OverLimitError(Exception):
    """The file goes over one of the limits above: nothing more is built."""

    def __init__(self, issue: SourceIssue) -> None:
        super().__init__(issue.reason)
        self.issue = issue


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


class _NotPlainError(Exception):
    """The file needs the composer: a YAML feature the plain builder leaves to it, or a problem to report."""


class _PlainBuilder:
    """Builds the data of a plain file from parse events; the same data as `_Builder` gives for it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._scalars = yaml.SafeLoader("")
        self._plain: dict[str, Any] = {}  # plain scalar text → its value (ints, bools, ... are immutable)
        # One str object for each distinct text: a plant repeats its keys, skus, lines and stations in every
        # loop, and the loops keep those values for as long as the service runs.
        self._strings: dict[str, str] = {}
        self._next: Callable[[], Any] = lambda: None
        self._depth = 0  # of the mapping or list being built

    def build(self, text: str) -> Any:
        parser = _LOADER(text)
        self._next = parser.get_event
        try:
            return self._document()
        finally:
            parser.dispose()

    def _document(self) -> Any:
        self._next()  # stream start
        if type(self._next()) is yaml.StreamEndEvent:
            return {}
        data = self._node(self._next())
        self._next()  # document end
        if type(self._next()) is not yaml.StreamEndEvent:
            raise _NotPlainError("more than one document")
        return data

    def _node(self, event: Any) -> Any:
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self._scalar(event)
        if kind is yaml.AliasEvent or event.anchor is not None or event.tag is not None:
            raise _NotPlainError("anchor, alias or tag")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _OverLimitError(_too_deep(event.start_mark.line + 1))
        if kind is yaml.SequenceStartEvent:
            items = []
            while type(event := self._next()) is not yaml.SequenceEndEvent:
                items.append(self._node(event))
            self._depth -= 1
            return items
        result = self._mapping()
        self._depth -= 1
        return result

    def _mapping(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while type(event := self._next()) is not yaml.MappingEndEvent:
            if type(event) is not yaml.ScalarEvent:
                raise _NotPlainError("a key that is not a scalar")
            raw = self._scalar(event)
            key = str(raw)
            if key in result or (key == "<<" and event.implicit[0]):
                raise _NotPlainError("duplicate or merge key")
            result[key] = self._node(self._next())
        return result

    def _scalar(self, event: Any) -> Any:
        if event.anchor is not None or (event.tag is not None and event.tag != "!"):
            raise _NotPlainError("anchor or tag")
        text: str = event.value
        if not event.implicit[0] or (text and text[0] not in _TYPED_FIRST):  # quoted, or a name: a string
            value: Any = self._strings.setdefault(text, text)
        elif (value := self._plain.get(text, _MISSING)) is _MISSING:
            tag = self._scalars.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
            value = self._plain[text] = self._scalars.construct_object(yaml.ScalarNode(tag, text))
        if type(value) is str and "${" in value:
            return _ENV_REF.sub(self._variable, value)
        return value

    def _variable(self, match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in self._env:
            raise _NotPlainError("unset variable")
        return self._env[name]


_MISSING = object()
# First characters of the plain scalars that PyYAML's safe resolver may read as something else than a string
# (it picks its resolvers by the first character, and has none for any character).
_TYPED_FIRST = frozenset(k for k in yaml.SafeLoader.yaml_implicit_resolvers if k)
