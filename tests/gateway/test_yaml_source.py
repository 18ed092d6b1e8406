"""load_yaml: the fast build of plain files gives the same data and lines as composing the node tree."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.yaml_source import MAX_DEPTH, Located, _compose, load_yaml

ENV = {"HOST": "broker.local", "PORT": "1883"}

# Plain scalars PyYAML's safe resolver reads as something else than a string, and some it does not.
_TRICKY = [
    "yes", "No", "on", "OFF", "y", "n", "true", "TRUE", "tRuE", "null", "Null", "~", "", "1_000", "0o17", "0x1f",
    "017", "1e3", "1.5e3", "+1", "-0", ".inf", "-.Inf", ".nan", ".5", "12:30:00", "190:20:30.15",
    "2024-01-01", "2024-01-01 10:00:00", "2024-01-01T10:00:00Z", "=", "B12", "S-1", "a b", "${HOST}",
    "mqtt://${HOST}:${PORT}", "tcp://x", "1.2.3", "-", "0", "007", "3.", "-1_0.5",
]
_scalar = st.one_of(st.sampled_from(_TRICKY), st.text(alphabet="abcXYZ019_-.:", max_size=6))
_key = st.one_of(
    st.sampled_from(["id", "1", "true", "null", "x y", "a-b", "~"]), st.text("abcdefg", min_size=1, max_size=5)
)


def _style(value: str, quote: str) -> str:
    if quote == "plain":
        return value
    return repr(value).replace("'", '"') if quote == "double" else "'" + value.replace("'", "''") + "'"


@st.composite
def _document(draw: st.DrawFn) -> str:
    """Block and flow mappings and lists of tricky scalars, some quoted, as a plant file could be written."""
    lines = []
    for key in draw(st.lists(_key, min_size=1, max_size=6, unique=True)):
        shape = draw(st.sampled_from(["scalar", "flow", "list", "block"]))
        quoted = st.sampled_from(["plain", "plain", "single", "double"])
        if shape == "scalar":
            lines.append(f"{key}: {_style(draw(_scalar), draw(quoted))}")
        elif shape == "flow":
            items = draw(st.lists(st.tuples(_key, _scalar, quoted), max_size=4, unique_by=lambda t: t[0]))
            body = ", ".join(f"{k}: {_style(v, q)}" if v else f"{k}: ''" for k, v, q in items)
            lines.append(f"{key}: {{{body}}}")
        elif shape == "list":
            lines.append(f"{key}:")
            for item, q in draw(st.lists(st.tuples(_scalar, quoted), max_size=4)):
                lines.append(f"  - {_style(item, q) if item else chr(39) * 2}")
        else:
            lines.append(f"{key}:")
            for k, v, q in draw(st.lists(st.tuples(_key, _scalar, quoted), max_size=4, unique_by=lambda t: t[0])):
                lines.append(f"  {k}: {_style(v, q) if v else chr(39) * 2}")
    return "\n".join(lines) + "\n"


def _same(fast: Located, composed: Located, text: str) -> None:
    assert repr(fast.data) == repr(composed.data), text
    assert fast.issues == composed.issues
    for path in composed.lines:
        assert fast.line_of(path) == composed.line_of(path), (path, text)


@settings(max_examples=400)
@given(_document())
def test_plain_documents_give_the_same_data_and_lines_as_composing(text: str) -> None:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError:
        return  # not YAML: both report the syntax error (covered below)
    _same(load_yaml(text, ENV), _compose(text, ENV), text)


def test_a_plant_file_is_built_without_composing_until_a_line_is_asked_for() -> None:
    located = load_yaml("site: s1\nbins:\n  - {id: B1, sku: 'X'}\n", ENV)
    assert located.data == {"site": "s1", "bins": [{"id": "B1", "sku": "X"}]}
    assert located.lines == {}
    assert located.line_of(("bins", 0, "sku")) == 3


def _examples() -> list[str]:
    return [
        "a: &x {b: 1}\nc: *x\n",  # anchors and aliases
        "a: !!str 12\n",  # explicit tag
        "base: {x: 1}\nderived:\n  <<: {x: 2}\n  y: 2\n",  # merge key: an issue, not a crash
        "a: !custom 1\n",  # unknown tag: an issue, not a crash
        "a: 1\na: 2\n",  # duplicate key: reported with its line
        "url: mqtt://${NOT_SET}\n",  # unset variable: reported with its line
        "a: [1, 2\n",  # syntax error
        "--- 1\n--- 2\n",  # two documents
        "",  # empty
        "# only a comment\n",
        "- 1\n- 2\n",  # not a mapping
    ]


def test_files_that_need_the_composer_give_what_composing_gives() -> None:
    for text in _examples():
        fast, composed = load_yaml(text, ENV), _compose(text, ENV)
        _same(fast, composed, text)


def _data(text: str) -> Any:
    return load_yaml(text, ENV).data


def test_variables_are_substituted_in_plain_and_quoted_strings() -> None:
    assert _data('url: "mqtt://${HOST}:${PORT}"\nuser: ${HOST}\n') == {
        "url": "mqtt://broker.local:1883",
        "user": "broker.local",
    }


def test_a_merge_key_or_an_unknown_tag_is_reported_with_its_line() -> None:
    assert [(i.line, i.reason) for i in load_yaml("a: 1\nb: !custom 1\n", ENV).issues] == [
        (2, "YAML: could not determine a constructor for the tag '!custom'")
    ]


def _nested(levels: int, *, first: str = "") -> str:
    """`levels` block mappings one inside the other, the one at depth d on line d (after `first`)."""
    return first + "".join(" " * i + "k:\n" for i in range(levels - 1)) + " " * (levels - 1) + "k: v\n"


def _depth_issues(text: str) -> list[tuple[int, str]]:
    located = load_yaml(text, ENV)
    assert located.data is None
    return [(i.line, i.reason) for i in located.issues]


TOO_DEEP = f"YAML: mappings and lists nested more than {MAX_DEPTH} levels deep"


def test_nesting_up_to_the_limit_loads_with_either_builder() -> None:
    for text in (_nested(MAX_DEPTH), "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"):
        fast, composed = load_yaml(text, ENV), _compose(text, ENV)
        assert fast.issues == []
        assert fast.data is not None
        _same(fast, composed, text)
    assert load_yaml(_nested(MAX_DEPTH, first="a: &x 1\n"), ENV).issues == []  # composed: no issue either


def test_nesting_past_the_limit_is_reported_where_it_is_crossed() -> None:
    assert _depth_issues(_nested(MAX_DEPTH + 1)) == [(MAX_DEPTH + 1, TOO_DEEP)]
    assert _depth_issues(_nested(1000)) == [(MAX_DEPTH + 1, TOO_DEEP)]
    assert _depth_issues("a: 1\nx: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n") == [(2, TOO_DEEP)]
    assert _depth_issues("x:\n" + "- " * 10_000 + "v\n") == [(2, TOO_DEEP)]
    assert _depth_issues("x: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n") == [(1, TOO_DEEP)]
    # Past 1000 `[`, libyaml's scanner stops first, with a nesting limit of its own: the same message.
    assert _depth_issues("x: " + "[" * 10_000 + "]" * 10_000 + "\n") == [(1, TOO_DEEP)]


def test_nesting_past_the_limit_is_found_before_composing() -> None:
    # An anchor sends the file to the composer (recursive, in C): the nesting is checked before it runs.
    for text, line in (
        (_nested(200, first="a: &x 1\n"), MAX_DEPTH + 2),
        ("a: &x 1\nb: " + "[" * 900 + "]" * 900 + "\n", 2),
    ):
        fast, composed = load_yaml(text, ENV), _compose(text, ENV)
        assert [(i.line, i.reason) for i in fast.issues] == [(line, TOO_DEEP)]
        _same(fast, composed, text)
