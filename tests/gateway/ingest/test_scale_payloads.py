"""decode_scale: the payload shapes real scales send, and the reasons bad ones are rejected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.ingest.errors import PayloadError
from gateway.ingest.scale_payloads import decode_scale
from rules.scale_bin import Reading

NOW = datetime(2024, 6, 1, 10, 0, 0, tzinfo=UTC).timestamp()
SKEW = 300.0


def decode(payload: bytes) -> Reading:
    return decode_scale(payload, now=NOW, max_skew_s=SKEW)


def reason_of(payload: bytes) -> str:
    with pytest.raises(PayloadError) as info:
        decode(payload)
    return info.value.reason


# --- accepted ------------------------------------------------------------------------------------------


def test_grams_with_stable_flag_and_iso_z_timestamp() -> None:
    reading = decode(b'{"weight_g": 1234.5, "stable": false, "ts": "2024-06-01T09:59:00Z"}')
    assert reading == Reading(weight_g=1234.5, ts=NOW - 60.0, stable=False)


def test_grams_only_is_stable_and_timed_at_arrival() -> None:
    assert decode(b'{"weight_g": 800}') == Reading(weight_g=800.0, ts=NOW, stable=True)


def test_kilograms_are_converted_to_grams() -> None:
    reading = decode(b'{"weight_kg": 1.2345}')
    assert reading.weight_g == pytest.approx(1234.5)
    assert reading.ts == NOW
    assert reading.stable is True


@pytest.mark.parametrize("payload", [b"1234.5", b" 1234.5\n", b"1234.5\r\n"])
def test_bare_number_is_grams(payload: bytes) -> None:
    assert decode(payload) == Reading(weight_g=1234.5, ts=NOW, stable=True)


def test_tasmota_hx711_weight_in_kg_and_time_is_arrival() -> None:
    # Tasmota's "Time" is local time without a zone: the gateway clock is used instead.
    reading = decode(b'{"Time":"2024-01-01T10:00:00","HX711":{"Weight":1.234,"WeightRaw":1}}')
    assert reading.weight_g == pytest.approx(1234.0)
    assert reading.ts == NOW
    assert reading.stable is True


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1717235940000", NOW - 60.0),  # epoch milliseconds
        ("1717235940", NOW - 60.0),  # epoch seconds
        ("1717235940.5", NOW - 59.5),
        ('"2024-06-01T09:59:00+0000"', NOW - 60.0),  # Zebra style offset without a colon
        ('"2024-06-01T11:59:00+02:00"', NOW - 60.0),
        ('"2024-06-01T09:59:00"', NOW - 60.0),  # no zone: UTC
    ],
)
def test_timestamp_forms(ts: str, expected: float) -> None:
    reading = decode(b'{"weight_g": 5, "ts": %s}' % ts.encode())
    assert reading.ts == pytest.approx(expected, abs=1e-6)


def test_nanosecond_timestamp_is_accepted() -> None:
    reading = decode(b'{"weight_g": 5, "ts": "2024-06-01T09:59:00.123456789+0000"}')
    assert reading.ts == pytest.approx(NOW - 60.0 + 0.123456, abs=1e-5)


def test_timestamp_just_within_clock_skew_is_accepted() -> None:
    assert decode(b'{"weight_g": 5, "ts": "2024-06-01T10:04:59Z"}').ts == NOW + 299.0


# --- rejected ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"{", b"hello", b'{"weight_g": 1', b"12 g"])
def test_invalid_json(payload: bytes) -> None:
    assert reason_of(payload) == "invalid_json"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"weight_g": "1234"}', id="string-weight"),
        pytest.param(b'{"weight_g": 1, "weight_kg": 1}', id="two-weights"),
        pytest.param(b'{"weight_g": 1, "HX711": {"Weight": 1}}', id="grams-and-tasmota"),
        pytest.param(b'{"stable": true}', id="no-weight"),
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b'{"weight_g": 1, "stable": 1}', id="stable-as-1"),
        pytest.param(b'{"weight_g": 1, "stable": "true"}', id="stable-as-string"),
        pytest.param(b'{"weight_g": 1, "ts": "yesterday"}', id="bad-ts"),
        pytest.param(b'{"weight_g": 1, "ts": true}', id="bool-ts"),
        pytest.param(b'{"HX711": {}}', id="tasmota-without-weight"),
        pytest.param(b"", id="empty"),
        pytest.param(b"  \n", id="whitespace"),
    ],
)
def test_invalid_payload(payload: bytes) -> None:
    assert reason_of(payload) == "invalid_payload"


@pytest.mark.parametrize("payload", [b"[1]", b"[1234.5]", b"null", b"true", b'"1234"'])
def test_json_that_is_not_an_object_is_invalid_payload(payload: bytes) -> None:
    assert reason_of(payload) == "invalid_payload"


@pytest.mark.parametrize(
    "payload",
    [
        b'{"weight_g": NaN}',
        b'{"weight_g": Infinity}',
        b'{"weight_g": -Infinity}',
        b'{"weight_kg": NaN}',
        b'{"weight_g": 1e400}',
        b'{"HX711": {"Weight": NaN}}',
        b"nan",
        b"NaN",
        b"inf",
        b"-inf",
        b"Infinity",
        b"1e400",
    ],
)
def test_not_finite(payload: bytes) -> None:
    assert reason_of(payload) == "not_finite"


@pytest.mark.parametrize(
    "ts",
    [b'"2024-06-01T10:05:01Z"', b'"2024-06-01T12:00:00+0000"', b"1717237000000", b"1717237000"],
)
def test_future_timestamp_beyond_clock_skew(ts: bytes) -> None:
    assert reason_of(b'{"weight_g": 5, "ts": %s}' % ts) == "future_timestamp"


def test_clock_skew_is_configurable() -> None:
    payload = b'{"weight_g": 5, "ts": "2024-06-01T10:00:10Z"}'
    assert decode_scale(payload, now=NOW, max_skew_s=60).ts == NOW + 10
    with pytest.raises(PayloadError) as info:
        decode_scale(payload, now=NOW, max_skew_s=5)
    assert info.value.reason == "future_timestamp"
