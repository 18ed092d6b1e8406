"""YAML loading that remembers where every value came from and substitutes `${VAR}` from the environment.

Lines are needed only to report problems, so a plain file (no anchors, aliases, explicit tags, merge keys,
duplicate keys or unset variables) is first built straight from libyaml's parse events, resolving each
distinct plain scalar once and keeping no node tree: with 50,000 bins this is four times faster than
composing a tree and takes a fraction of the memory. Its lines are found, by composing the tree, only when
something asks for one. Any other file is composed at once.

Neither way builds a document nested more than `MAX_DEPTH` levels deep, nor one whose aliases expand to more
values than the `ALIAS_VALUES_...` limits allow: such a file becomes one `SourceIssue` at the line where it goes
over, found before it is built. The plain builder counts its depth as it goes; a file is composed only after a
pass over its parse events (`_Limits`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from config.base import Path_

# The largest plant file read. The bench's 50,000-loop plant is 6.8 MB (11 MB with an RFID tag per loop): the
# limit leaves room for several times that, and keeps a stray log or disk image from being read into memory.
MAX_FILE_BYTES = 64 << 20
# Mappings and lists nested deeper than this are refused. A plant file nests a handful of levels (the file,
# `bins`, a loop, its `scale`, ...; the example plant 6); the limit keeps the builders' recursion far from
# Python's recursion limit, and that of the C composer, which that limit does not stop, far from the C stack's.
MAX_DEPTH = 64
# What the aliases of a file may expand to, in all: ten values (keys included) for each node written so far,
# plus 10,000, and never more than 2,000,000. A plant's anchors are templates written once and used by many
# loops, each use (a loop's `scale`, say) a few values standing for one alias node: even a loop made of little
# but aliases stays well under ten times what it writes. 2,000,000 is about what 48,000 loops using a 39-value
# template each come to (1.9 million; the file loads in 2 s and 320 MB here), twice the 950,000 nodes of the
# bench's whole 50,000-loop plant. Nine lists of nine aliases of the list before (387 million values: a
# "billion laughs") are refused at the alias that goes over, having built nothing: what the aliases expand to
# is counted from the parse events.
ALIAS_VALUES_PER_NODE = 10
ALIAS_VALUES_ALLOWANCE = 10_000
ALIAS_VALUES_MAX = 2_000_000

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
        if not within_limits and (issue := _Limits().issue(text)) is not None:
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
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, such as a control character
        # libyaml gives the position in bytes of UTF-8, PyYAML's reader in characters.
        lines_before = (
            text[: exc.position].count("\n")
            if _LOADER is yaml.SafeLoader
            else text.encode("utf-8", "surrogatepass")[: exc.position].count(b"\n")
        )
        reason = f"YAML syntax: character #x{exc.character:04x}: {exc.reason}"
        located.issues.append(SourceIssue(lines_before + 1, (), reason))
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


class _Limits:
    """How deep a document is and how many values it has, as `_Builder` builds it: each alias replaced by (a
    copy of) the node it refers to. Counted from the parse events, nothing built."""

    def __init__(self) -> None:
        self.nodes = 0  # written in the file
        self.values = 0  # of the document, aliases expanded
        self.aliased = 0  # what the aliases expand to
        self._anchored: dict[str, tuple[int, int]] = {}  # anchor → values, levels of mappings and lists
        self._open: list[_Open] = []  # the mappings and lists being read, outermost first

    def issue(self, text: str) -> SourceIssue | None:
        """The first limit the document goes over, at the event where it does; run before composing it."""
        handlers: dict[type[yaml.Event], Callable[[Any], SourceIssue | None]] = {
            yaml.ScalarEvent: self._scalar,
            yaml.MappingStartEvent: self._start,
            yaml.SequenceStartEvent: self._start,
            yaml.MappingEndEvent: self._end,
            yaml.SequenceEndEvent: self._end,
            yaml.AliasEvent: self._alias,
        }
        parser = _LOADER(text)
        next_event: Callable[[], Any] = parser.get_event
        try:
            while (kind := type(event := next_event())) is not yaml.StreamEndEvent:
                handle = handlers.get(kind)
                if handle is not None and (issue := handle(event)) is not None:
                    return issue
        finally:
            parser.dispose()
        return None

    def _scalar(self, event: Any) -> None:
        self.nodes += 1
        self.values += 1
        if event.anchor is not None:
            self._anchored[event.anchor] = (1, 0)

    def _start(self, event: Any) -> SourceIssue | None:
        if len(self._open) == MAX_DEPTH:
            return _too_deep(event.start_mark.line + 1)
        self._open.append(_Open(event.anchor, self.values, len(self._open) + 1))
        self.nodes += 1
        self.values += 1
        return None

    def _end(self, _: Any) -> None:
        done = self._open.pop()
        self._reach(done.deepest)
        if done.anchor is not None:
            self._anchored[done.anchor] = (self.values - done.values_before, done.deepest - len(self._open))

    def _alias(self, event: Any) -> SourceIssue | None:
        line = event.start_mark.line + 1
        if event.anchor not in self._anchored and any(o.anchor == event.anchor for o in self._open):
            return SourceIssue(line, (), f"YAML: alias *{event.anchor} is inside the node it refers to")
        size, levels = self._anchored.get(event.anchor, (1, 0))  # an undefined alias: the composer says so
        if len(self._open) + levels > MAX_DEPTH:
            return _too_deep(line)
        self._reach(len(self._open) + levels)
        self.nodes += 1
        self.values += size
        self.aliased += size
        budget = min(ALIAS_VALUES_PER_NODE * self.nodes + ALIAS_VALUES_ALLOWANCE, ALIAS_VALUES_MAX)
        if self.aliased > budget:
            return SourceIssue(line, (), f"YAML: aliases expand to more than {budget:,} values (an alias bomb?)")
        return None

    def _reach(self, level: int) -> None:
        """A mapping or list at `level` ends inside the innermost one open."""
        if self._open and self._open[-1].deepest < level:
            self._open[-1].deepest = level


@dataclass(slots=True)
class _Open:
    """A mapping or list being read by `_Limits`."""

    anchor: str | None
    values_before: int  # values of the document before it
    deepest: int  # level of its deepest mapping or list, its own included, aliases expanded


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
        value = self._construct(node, path)
        if isinstance(value, str) and "${" in value:
            return self._substitute(value, node.start_mark.line + 1, path)
        return value

    def _construct(self, node: yaml.Node, path: Path_) -> Any:
        """A scalar's value; one YAML's rules read as a number or a date but that is none (`0b_`, `2026-13-45`)
        is reported and kept as its text."""
        try:
            return self._scalars.construct_object(node)
        except (ValueError, OverflowError):
            kind = str(node.tag).rsplit(":", 1)[-1]
            self._located.issues.append(SourceIssue(
                node.start_mark.line + 1, path,
                f"YAML: {node.value!r} reads as a{'n' * (kind[0] in 'aeiou')} {kind} but is not one; put it in quotes"
                " if it is a text"))
            return str(node.value)

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(self._construct(key_node, path))
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
            try:
                value = self._plain[text] = self._scalars.construct_object(yaml.ScalarNode(tag, text))
            except (ValueError, OverflowError) as exc:  # `0b_` or `2026-13-45`: the composer reports where
                raise _NotPlainError("a scalar that reads as a number or a date but is none") from exc
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
