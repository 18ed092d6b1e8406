"""decode_scale's fast path for `{"weight_g": n[, "stable": b]}` agrees with the pydantic model on every input."""

from __future__ import annotations

import json
import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.ingest.errors import PayloadError
from gateway.ingest.scale_payloads import decode_model, decode_scale
from rules.scale_bin import Reading

NOW = 1_717_236_000.0
SKEW = 300.0

_json_ws = st.text(alphabet=" \t\n\r", max_size=2).map(str.encode)
_any_ws = st.text(alphabet=" \t\n\r\x0b\x0c\xa0", max_size=3).map(str.encode)  # not all of it is JSON's


def _mostly(usual: st.SearchStrategy[bytes], *unusual: bytes) -> st.SearchStrategy[bytes]:
    """`usual` three times in four, else one of `unusual`."""
    return st.one_of(usual, usual, usual, st.sampled_from(unusual))


_plain_number = st.from_regex(r"\A-?(0|[1-9][0-9]{0,16})(\.[0-9]{1,17})?\Z", fullmatch=True).map(str.encode)
_odd_number = st.one_of(
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,20})(\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?\Z", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(["-0", "-0.0", "00", "01", ".5", "1.", "+1", "NaN", "Infinity", '"12"', "null", "true"]),
).map(lambda s: s.encode())
_number = st.one_of(_plain_number, _plain_number, _odd_number)
_flag = _mostly(st.sampled_from([b"true", b"false"]), b"True", b"1", b"0", b"null", b'"true"', b"tru")


def _key(name: bytes) -> st.SearchStrategy[bytes]:
    return _mostly(st.just(b'"' + name + b'"'), b'"weight_g"', b'"stable"', b'"weight_kg"', b'"ts"', b"weight_g")


@st.composite
def _common_shape(draw: st.DrawFn) -> bytes:
    """The shape the fast path matches, and near misses of it."""
    ws_kind = _any_ws if draw(st.integers(0, 4)) == 0 else _json_ws
    ws = [draw(ws_kind) for _ in range(9)]
    body = b"{" + ws[0] + draw(_key(b"weight_g")) + ws[1] + b":" + ws[2] + draw(_number) + ws[3]
    if draw(st.booleans()):
        body += b"," + ws[4] + draw(_key(b"stable")) + ws[5] + b":" + ws[6] + draw(st.one_of(_flag, _number)) + ws[7]
    if draw(st.integers(0, 9)) == 0:
        body += b', "ts": ' + draw(st.sampled_from([b"1717236000", b'"2024-06-01T10:00:00Z"', b"1e12"]))
    return ws[8] + body + draw(_mostly(st.just(b"}"), b"}}", b"", b"}\n", b"},"))


_json_object = st.dictionaries(
    st.sampled_from(["weight_g", "stable", "weight_kg", "ts", "other"]),
    st.one_of(st.floats(), st.integers(), st.booleans(), st.none(), st.text(max_size=5)),
    max_size=3,
).map(lambda d: json.dumps(d).encode())

_payload = st.one_of(_common_shape(), _common_shape(), _common_shape(), _json_object, st.binary(max_size=40))


def _outcome(decode: object, payload: bytes) -> tuple[object, ...]:
    assert callable(decode)
    try:
        reading: Reading = decode(payload, now=NOW, max_skew_s=SKEW)
    except PayloadError as exc:
        return ("rejected", exc.reason, exc.detail)
    return ("read", reading.weight_g, math.copysign(1.0, reading.weight_g), reading.ts, reading.stable)


@settings(max_examples=3000)
@given(_payload)
@example(b'{"weight_g": 1400}')
@example(b'{"weight_g":-0}')
@example(b'{"weight_g": 12.5, "stable": false}')
@example(b' {"weight_g": 999999999999999.999999999999999 ,"stable":true} \n')
@example(b'{"weight_g": 9007199254740993}')
@example(b'{"weight_g": 0.1000000000000000055511151231257827}')
def test_fast_path_and_model_agree(payload: bytes) -> None:
    assert _outcome(decode_scale, payload) == _outcome(decode_model, payload)


@settings(max_examples=1000)
@given(
    _json_ws, _plain_number, _json_ws, st.one_of(st.none(), st.sampled_from([b"true", b"false"])), _json_ws
)
def test_fast_path_and_model_agree_on_the_common_shape(
    before: bytes, weight: bytes, after: bytes, stable: bytes | None, end: bytes
) -> None:
    payload = before + b'{"weight_g":' + after + weight + after
    if stable is not None:
        payload += b',"stable"' + before + b":" + stable
    payload += end + b"}"
    assert _outcome(decode_scale, payload) == _outcome(decode_model, payload)


def test_common_shape_is_decoded() -> None:
    assert decode_scale(b'{"weight_g": 1400.5, "stable": false}', now=NOW, max_skew_s=SKEW) == Reading(
        weight_g=1400.5, ts=NOW, stable=False
    )
