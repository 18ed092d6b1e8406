"""load_yaml: the fast build of plain files gives the same data and lines as composing the node tree."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from config.yaml_source import (
    ALIAS_VALUES_ALLOWANCE,
    ALIAS_VALUES_MAX,
    ALIAS_VALUES_PER_NODE,
    MAX_DEPTH,
    Located,
    _compose,
    _Limits,
    load_yaml,
)

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


def _bomb(levels: int = 9) -> str:
    """A "billion laughs": each list holds nine aliases of the one before (9**9 values for nine levels)."""
    lines = ["site: t", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def _issues(text: str) -> list[tuple[int, str]]:
    located = load_yaml(text, ENV)
    assert located.data is None
    return [(i.line, i.reason) for i in located.issues]


def test_an_alias_bomb_is_reported_at_the_alias_that_goes_over_without_building_it() -> None:
    started = time.perf_counter()
    located = load_yaml(_bomb(), ENV)
    assert time.perf_counter() - started < 1
    # a0..a3 expand to 10, 91, 820 and 7381 values; the first *a3 brings the aliases to 8302 + 7381 > 10,500.
    assert [(i.line, i.reason) for i in located.issues] == [
        (6, "YAML: aliases expand to more than 10,500 values (an alias bomb?)")
    ]
    assert located.data is None
    assert located.lines == {}
    _same(located, _compose(_bomb(), ENV), _bomb())


def _template_uses(uses: int) -> str:
    """One 100-value list and a list of `uses` aliases of it: 104 + uses nodes, 100 * uses values aliased."""
    return "t: &t [" + ", ".join(["1"] * 99) + "]\nu: [" + ", ".join(["*t"] * uses) + "]\n"


def test_aliases_may_expand_to_ten_values_a_node_plus_an_allowance() -> None:
    assert (ALIAS_VALUES_PER_NODE, ALIAS_VALUES_ALLOWANCE) == (10, 10_000)
    most = next(n for n in range(1, 1000) if 100 * (n + 1) > 10 * (104 + n + 1) + 10_000)  # 122
    located = load_yaml(_template_uses(most), ENV)
    assert located.issues == []
    assert len(located.data["u"]) == most
    assert len(located.lines) == 3 + 99 + 100 * most  # (), t and u; t's items; u's items and theirs
    budget = 10 * (104 + most + 1) + 10_000
    assert _issues(_template_uses(most + 1)) == [
        (2, f"YAML: aliases expand to more than {budget:,} values (an alias bomb?)")
    ]


def test_aliases_expand_to_no_more_than_a_fixed_number_of_values_however_big_the_file() -> None:
    # A list of 300,000 values, then seven aliases of it: the seventh goes over two million, where ten values
    # a node would allow three million.
    text = f"l: &l [{', '.join(['0'] * 299_999)}]\nm: [*l, *l, *l, *l, *l, *l, *l]\n"
    assert _issues(text) == [(2, f"YAML: aliases expand to more than {ALIAS_VALUES_MAX:,} values (an alias bomb?)")]


def test_a_plant_that_takes_its_loops_settings_from_templates_loads() -> None:
    loops = "".join(f"  - {{id: B{i}, sku: S, scale: *scale, limits: *limits}}\n" for i in range(5000))
    text = (
        "site: t\ntemplates:\n  scale: &scale {tare_g: 500, capacity_g: 20000, resolution_g: 1}\n"
        "  limits: &limits {container_qty: 100, reorder_point: 30, stale_after_s: 3600, min: 1, max: 9}\n"
        "bins:\n" + loops
    )
    located = load_yaml(text, ENV)
    assert located.issues == []
    assert located.data["bins"][4999]["limits"]["reorder_point"] == 30
    assert located.line_of(("bins", 4999, "scale", "tare_g")) == 3  # where the template says it


def test_an_alias_inside_the_node_it_refers_to_is_reported() -> None:
    assert _issues("site: t\na: &a [1, *a]\n") == [(2, "YAML: alias *a is inside the node it refers to")]
    assert _issues("a: &a {b: {c: *a}}\n") == [(1, "YAML: alias *a is inside the node it refers to")]


def test_aliases_count_in_the_depth() -> None:
    half = MAX_DEPTH // 2
    deep = f"a: &a {'[' * half}1{']' * half}\n"  # levels 2 .. half + 1
    assert load_yaml(deep + f"b: {'[' * (half - 1)}*a{']' * (half - 1)}\n", ENV).issues == []  # 64 levels
    assert _issues(deep + f"b: {'[' * half}*a{']' * half}\n") == [(2, TOO_DEEP)]
    # Chained anchors nest deeper with each link; the builders' recursion never gets there.
    chain = "a0: &a0 [[[[[[[[1]]]]]]]]\n" + "".join(f"a{n}: &a{n} [[[[[[[[*a{n - 1}]]]]]]]]\n" for n in range(1, 50))
    assert _issues(chain) == [(8, TOO_DEEP)]


def test_the_limits_count_every_value_the_composer_builds() -> None:
    for text in [*_examples(), _template_uses(50), _bomb(3), "a: &a {x: 1, x: 2}\nb: [*a, *a]\n"]:
        limits = _Limits()
        with contextlib.suppress(yaml.YAMLError):
            assert limits.issue(text) is None
        assert len(_compose(text, ENV).lines) <= limits.values, text


def test_a_character_yaml_does_not_allow_is_reported_with_its_line() -> None:
    [(line, reason)] = _issues("site: t\nname: \u00e9t\u00e9\n\nnote: a\x07b\n")
    assert line == 4
    words = ("control", "special")  # libyaml's, PyYAML's own reader's
    assert reason in {f"YAML syntax: character #x0007: {w} characters are not allowed" for w in words}


def test_a_plain_scalar_that_reads_as_a_number_or_date_but_is_none_is_reported_not_raised() -> None:
    # PyYAML's resolver takes `0b_` for an int and `2026-13-45` for a date, then fails to build them.
    for text, kind in (("0b_", "int"), ("0x_", "int"), ("2026-13-45", "timestamp")):
        located = load_yaml(f"site: plant\nid: {text}\n", ENV)
        assert located.data == {"site": "plant", "id": text}
        assert [(i.line, i.path) for i in located.issues] == [(2, ("id",))]
        assert f"reads as a{'n' * (kind == 'int')} {kind} but is not one" in located.issues[0].reason
