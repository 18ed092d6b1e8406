"""Hostile input on every door: no payload, request body or path parameter gets a 5xx, ends the service, or is
accepted and then cannot be stored.

The service's own parts run on an event loop of their own (committer, connectors and the API app, with no
broker): MQTT payloads are handed to the ingest as the broker link hands them, requests go through the whole
ASGI stack. Each property also asserts what a user cares about afterwards: the committer runs, the database
takes writes, and nothing accepted was refused as `unstorable` (accepted values can always be committed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.gateway.live import SGTIN, LiveService


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = LiveService(tmp_path_factory.mktemp("hostile"))
    # Something for every write endpoint to act on: two open signals, an alarm, a delivery in the outbox.
    for grams in (1500, 750, 400):
        service.publish(f"{service.prefix}/scale/B1", str(grams).encode())
    service.publish(f"{service.prefix}/plc/P1/status", b'{"online": false, "error": "timeout"}')
    yield service
    service.close()


# --- what hostile input looks like ------------------------------------------------------------------------

_HUGE = [2**31, 2**53, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, -1, 0, 1]
numbers = st.one_of(st.sampled_from(_HUGE), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from([1e300, -1e300, 5e-324, 0.5, -0.0]))
times = st.one_of(st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-01-01",
                                   "2026-12-01T10:00:00Z", "nonsense", ""]), numbers)
_FIELDS = ["wip", "quantity", "by", "asn", "value", "ts", "online", "error", "weight_g", "weight_kg", "stable",
           "HX711", "Weight", "Time", "data", "idHex", "antenna", "epc", "epcHex", "antennaPort", "eventType",
           "tagInventoryEvent", "tagReads", "isHeartBeat", "firstSeenTimestamp", "timestamp", "type", "peakRssi"]
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30), times,
                    st.sampled_from(["tagInventory", "SIMPLE", "HEARTBEAT", SGTIN, "E28011606000020A1B2C3D01"]))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=8), inner, max_size=5)),
    max_leaves=12,
)


def _raw(value: Any) -> bytes:
    return json.dumps(value).encode()


payloads = st.one_of(
    json_values.map(_raw),
    st.binary(max_size=64),
    st.sampled_from([b"[" * 100_000, b"{\"a\":" * 50_000, b"1e999", b"9" * 5000, b"NaN", b"-Infinity",
                     b'{"weight_g": 1e999}', b'{"value": 1e400}', b"\xff\xfe", b"", b"null"]),
    st.integers().map(lambda n: str(n).encode()),
)


# --- MQTT: every payload decoder behind its topic ------------------------------------------------------------

TOPICS = ["scale/B1", "scale/B2", "scale/nope", "plc/P1/loaded", "plc/P1/good", "plc/P1/call", "plc/P1/temp",
          "plc/P1/status", "plc/P9/x", "rfid/post", "rfid/dock", "rfid/nope"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(topic=st.sampled_from([*TOPICS, "tele/hx711/SENSOR"]), payload=payloads)
def test_no_payload_on_any_topic_ends_the_service_or_is_accepted_and_then_cannot_be_stored(
    live: LiveService, topic: str, payload: bytes
) -> None:
    full = topic if topic.startswith("tele/") else f"{live.prefix}/{topic}"
    before = live.defects()
    live.publish(full, payload)
    live.assert_alive(before)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=numbers | st.booleans(), ts=st.none() | times)
def test_any_counter_value_that_passes_can_be_stored(live: LiveService, value: object, ts: object) -> None:
    body = {"value": value} if ts is None else {"value": value, "ts": ts}
    before = live.defects()
    for point in ("loaded", "good"):
        live.publish(f"{live.prefix}/plc/P1/{point}", _raw(body))
    live.assert_alive(before)


# --- HTTP: every write endpoint's path and body, and the reads' parameters --------------------------------------

ids = st.one_of(st.sampled_from(["1", "0", "-1", str(2**63), str(2**64), "9" * 40, "%00", "..", "a%2Fb"]),
                st.integers().map(str), st.text(alphabet="abcAZ09-_.:%", max_size=12).filter(bool))
# Each write endpoint with the ids that name something (mostly drawn) and the fields of its body.
WRITES: dict[str, tuple[list[str], list[str]]] = {
    "/api/v1/signals/{}/acknowledge": (["B1-1", "B1-2"], ["by"]),
    "/api/v1/signals/{}/ship": (["B1-1", "B1-2"], ["by", "quantity", "asn"]),
    "/api/v1/signals/{}/receive": (["B1-1", "B1-2"], ["by"]),
    "/api/v1/signals/{}/cancel": (["B1-1", "B1-2"], ["by"]),
    "/api/v1/stations/{}/wip": (["S1", "S2"], ["wip"]),
    "/api/v1/alarms/{}/acknowledge": (["1"], []),
    "/api/v1/deliveries/{}/retry": (["1", "2"], []),
    "/api/v1/targets/{}/updates": (["erp"], ["document_id", "action", "quantity", "asn"]),
}


@st.composite
def write_requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """A POST to one write endpoint: usually a real id and a body of its own fields with hostile values."""
    path, (known, fields) = draw(st.sampled_from(sorted(WRITES.items())))
    target = draw(st.sampled_from(known) | ids) if draw(st.integers(0, 3)) else draw(ids)
    if fields and draw(st.booleans()):
        body = _raw(draw(st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields))))
    else:
        body = draw(st.one_of(json_values.map(_raw), st.binary(max_size=32), st.just(b""), st.just(b"[" * 50_000)))
    return path.format(target), body


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=write_requests(), json_type=st.booleans(), key=st.none() | st.text(max_size=20))
@example(request=("/api/v1/stations/S1/wip", b'{"wip": 9223372036854775808}'), json_type=True, key=None)
@example(request=("/api/v1/stations/S1/wip", b'{"wip": 9223372036854775807}'), json_type=True, key=None)
@example(request=("/api/v1/signals/B1-2/ship", b'{"quantity": 1000000000000000000000000000000}'), json_type=True,
         key=None)
@example(request=(f"/api/v1/alarms/{2**63}/acknowledge", b""), json_type=True, key=None)
@example(request=(f"/api/v1/deliveries/{2**64}/retry", b""), json_type=True, key=None)
def test_no_write_request_gets_a_5xx_or_is_accepted_and_then_cannot_be_stored(
    live: LiveService, request: tuple[str, bytes], json_type: bool, key: str | None
) -> None:
    path, body = request
    headers = {"content-type": "application/json" if json_type else "text/plain"}
    if key and key == key.strip() and key.isprintable() and key.isascii():  # what a client can send
        headers["idempotency-key"] = key
    before = live.defects()
    answer = live.request("POST", path, content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    assert answer.json()["error"]["code"] != "unstorable" if answer.status_code >= 400 else True
    live.assert_alive(before)
    # Whatever the station's WIP was set to, its counters still count: no later step overflows either.
    before = live.defects()
    live.publish(f"{live.prefix}/plc/P1/loaded", _raw({"value": live.next_count()}))
    live.assert_alive(before)


READS = ["/api/v1/signals?status={}&limit={}", "/api/v1/signals?since={}&cursor={}", "/api/v1/alarms?limit={}&x={}",
         "/api/v1/bins/{}/history?every={}", "/api/v1/loops/{}/analytics?x={}",
         "/api/v1/deliveries?limit={}&supplier={}", "/api/v1/bins/{}?x={}", "/api/v1/signals.csv?status={}&limit={}",
         "/api/v1/signals.csv?since={}&loop={}", "/api/v1/deliveries?target={}&limit={}"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(READS), first=ids, second=ids | st.sampled_from(["99999999d", "1e308", "NaN"]))
def test_no_read_request_gets_a_5xx(live: LiveService, path: str, first: str, second: str) -> None:
    before = live.defects()
    answer = live.request("GET", path.format(first, second))
    assert answer.status_code < 500, answer.text
    live.assert_alive(before)


def test_the_event_stream_refuses_an_id_beyond_the_database_range(live: LiveService) -> None:
    for query, header in ((f"?after={2**63}", {}), ("", {"last-event-id": str(2**64)})):
        answer = live.request("GET", f"/api/v1/events{query}", headers=header)
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_request"
