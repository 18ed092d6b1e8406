"""PLC counters through a real broker into station WIP, WIP alarms and the API, surviving kill -9."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, messages, wait_for

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
plcs:
  - id: press1
    heartbeat_s: 60
    points:
      - {{name: parts_in, address: 0, type: uint16, counter: {{}}}}
      - {{name: parts_out, address: 1, type: uint16, counter: {{}}}}
      - {{name: temperature, address: 2, type: int16, scale: 0.1}}
stations:
  - id: S1
    line: L1
    in_counters: [press1/parts_in]
    out_counters: [press1/parts_out]
    wip_warning: 8
    wip_limit: 10
    hysteresis: 2
"""


@pytest.fixture
def floor_gateway(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT)
    gw.start()
    yield gw
    gw.stop()


def counter(broker: Broker, gw: Gateway, point: str, *values: int) -> None:
    broker.publish_many(f"{gw.prefix}/plc/press1/{point}", [json.dumps({"value": v}) for v in values])


def station(gw: Gateway) -> dict[str, object]:
    [s1] = gw.get("/api/v1/stations").json()["stations"]
    assert isinstance(s1, dict)
    return s1


def alarms(gw: Gateway, status: str = "active") -> list[dict[str, object]]:
    found: list[dict[str, object]] = gw.get(f"/api/v1/alarms?status={status}").json()["alarms"]
    return found


def logged_events(gw: Gateway, types: str, count: int) -> list[dict[str, object]]:
    """The first `count` events of `types` in the event log, as the live event stream sends them."""
    found: list[dict[str, object]] = []
    with httpx.stream("GET", f"{gw.api}/api/v1/events?type={types}&after=0", timeout=10) as answer:
        for line in answer.iter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line.removeprefix("data: ")))
                if len(found) == count:
                    break
    return found


def test_counters_make_wip_raise_alarms_and_survive_kill_9(broker: Broker, floor_gateway: Gateway) -> None:
    gw = floor_gateway
    sub = broker.subscribe(f"{gw.prefix}/alarm/+", count=2)
    counter(broker, gw, "parts_in", 65530, 65535, 3)  # baseline, +5, rollover +4
    counter(broker, gw, "parts_out", 100, 101)
    wait_for(lambda: station(gw)["wip"] == 8, what="WIP 8")
    counter(broker, gw, "parts_in", 6)
    wait_for(lambda: station(gw)["state"] == "limit", what="the WIP limit")
    s1 = station(gw)
    assert (s1["wip"], s1["units_in"], s1["units_out"], s1["wip_limit"]) == (11, 12, 1, 10)
    assert s1["in_per_hour"] == 12.0

    raised = {body["alarm_kind"]: body for _, body in messages(sub)}
    assert set(raised) == {"wip_warning", "wip_limit"}
    assert raised["wip_limit"]["type"] == "alarm_raised"
    assert (raised["wip_limit"]["station"], raised["wip_limit"]["line"]) == ("S1", "L1")
    assert {"seq", "ts", "site", "alarm_id", "subject"} <= set(raised["wip_limit"])
    assert raised["wip_limit"]["detail"] == "WIP 11 >= 10"

    limit = next(a for a in alarms(gw) if a["kind"] == "wip_limit")
    acked = broker.subscribe(f"{gw.prefix}/alarm/+", count=1)
    answer = gw.post(f"/api/v1/alarms/{limit['id']}/acknowledge")
    assert answer.status_code == 200
    assert answer.json()["status"] == "acknowledged"
    [(_, ack)] = messages(acked)  # every event of an alarm carries its detail, as raised
    assert (ack["type"], ack["alarm_id"], ack["detail"]) == ("alarm_acknowledged", limit["id"], "WIP 11 >= 10")
    assert gw.post("/api/v1/alarms/999999/acknowledge").status_code == 404

    gw.kill()  # SIGKILL: what was answered is committed
    counter(broker, gw, "parts_in", 6)  # the same value again: no production
    gw.start()
    wait_for(lambda: gw.get("/api/v1/counters").json()["processed_since_start"] >= 1, what="the queued reading")
    s1 = station(gw)
    assert (s1["wip"], s1["state"]) == (11, "limit")
    assert {a["kind"]: a["status"] for a in alarms(gw)} == {"wip_warning": "active", "wip_limit": "acknowledged"}

    answer = httpx.post(f"{gw.api}/api/v1/stations/S1/wip", json={"wip": 2}, timeout=5)
    assert (answer.status_code, answer.json()["wip"], answer.json()["state"]) == (200, 2, "normal")
    assert alarms(gw) == []
    cleared = {a["kind"]: a for a in alarms(gw, "all")}
    assert cleared["wip_limit"]["status"] == "cleared"
    logged = logged_events(gw, "alarm_acknowledged,alarm_cleared", 3)
    assert sorted((str(body["type"]), str(body["alarm_kind"])) for body in logged) == [
        ("alarm_acknowledged", "wip_limit"), ("alarm_cleared", "wip_limit"), ("alarm_cleared", "wip_warning"),
    ]
    assert all(body["detail"] == raised[str(body["alarm_kind"])]["detail"] for body in logged)
    assert gw.post(f"/api/v1/alarms/{limit['id']}/acknowledge").status_code == 409
    assert httpx.post(f"{gw.api}/api/v1/stations/S9/wip", json={"wip": 2}, timeout=5).status_code == 404
    assert httpx.post(f"{gw.api}/api/v1/stations/S1/wip", json={"wip": -1}, timeout=5).status_code == 422


def test_plc_offline_alarm_and_bad_values_are_dead_lettered(broker: Broker, floor_gateway: Gateway) -> None:
    gw = floor_gateway
    dead = broker.subscribe(f"{gw.prefix}/deadletter", count=5)
    broker.publish(f"{gw.prefix}/plc/press1/status", json.dumps({"online": False, "error": "connection refused"}))
    wait_for(lambda: alarms(gw), what="the PLC offline alarm")
    [offline] = alarms(gw)
    assert (offline["kind"], offline["subject"], offline["detail"]) == ("plc_offline", "press1", "connection refused")
    broker.publish(f"{gw.prefix}/plc/press1/status", json.dumps({"online": True}))
    wait_for(lambda: not alarms(gw), what="the PLC offline alarm to clear")

    counter(broker, gw, "parts_in", 10)
    broker.publish(f"{gw.prefix}/plc/press1/parts_in", json.dumps({"value": 12.5}))
    broker.publish(f"{gw.prefix}/plc/press1/parts_in", json.dumps({"value": 70000}))
    broker.publish(f"{gw.prefix}/plc/press1/nothing", json.dumps({"value": 1}))
    broker.publish(f"{gw.prefix}/plc/press1/temperature", json.dumps({"value": 1e300}))  # int16 × 0.1
    broker.publish(f"{gw.prefix}/plc/press1/temperature", json.dumps({"value": True}))
    reasons = [body["reason"] for _, body in messages(dead)]
    assert reasons == ["invalid_payload", "out_of_range", "unknown_point", "out_of_range", "invalid_payload"]
    broker.publish(f"{gw.prefix}/plc/press1/temperature", json.dumps({"value": 21.5}))
    assert station(gw)["wip"] == 0


STALL = """
site: {site}
mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}
storage: {{path: "{db}"}}
api: {{host: 127.0.0.1, port: {api_port}}}
plcs:
  - id: press1
    points: [{{name: parts_out, address: 0, type: uint16, counter: {{}}}}]
stations:
  - {{id: S1, line: L1, out_counters: [press1/parts_out], stalled_after_s: 1.5}}
"""


def test_counter_stalled_raised_and_cleared_by_output(broker: Broker, tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, broker.port, "stall", STALL)
    gw.start()
    try:
        wait_for(lambda: [a["kind"] for a in alarms(gw)] == ["counter_stalled"], what="the stalled counter")
        broker.publish_many(f"{gw.prefix}/plc/press1/parts_out", [json.dumps({"value": v}) for v in (7, 8)])
        wait_for(lambda: any(a["status"] == "cleared" for a in alarms(gw, "all")), what="output to clear the alarm")
        first = alarms(gw, "all")[-1]  # newest first: the first alarm is last
        assert (first["subject"], first["kind"], first["status"]) == ("S1", "counter_stalled", "cleared")
    finally:
        gw.kill(signal.SIGTERM)


BACKFLUSH = PLANT_HEADER + """\
items:
  - {{sku: BOLT, unit_weight_g: 10}}
bins:
  - {{id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, receive_by_scale: false,
      debounce: {{readings: 1}}, scale: {{tare_g: 500}}}}
plcs:
  - id: press1
    points: [{{name: parts_out, address: 0, type: uint16, counter: {{}}}}]
stations:
  - {{id: S1, line: L1, out_counters: [press1/parts_out], consumes: [{{bin: B1, per_unit: 2}}]}}
"""


def test_backflush_lowers_a_bin_without_scale_until_its_card_is_released(broker: Broker, tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, broker.port, "backflush", BACKFLUSH)
    gw.start()

    def pieces() -> object:
        return gw.get("/api/v1/bins/B1").json()["pieces"]

    def open_signals() -> list[dict[str, object]]:
        return [s for s in gw.get("/api/v1/signals").json()["signals"] if s["status"] == "released"]

    try:
        wait_for(lambda: pieces() == 100, what="the unknown level to start full")
        counter = f"{gw.prefix}/plc/press1/parts_out"
        broker.publish_many(counter, [json.dumps({"value": v}) for v in (0, 20)])  # 20 units: 40 pieces
        wait_for(lambda: pieces() == 60, what="40 pieces used")
        assert open_signals() == []
        broker.publish(counter, json.dumps({"value": 36}))  # 16 more: 32 pieces, 28 left
        wait_for(lambda: pieces() == 28, what="32 more pieces used")
        [signal_] = wait_for(open_signals, what="the bin's card")  # type: ignore[misc]
        assert signal_["pieces_at_release"] == 28
        answer = gw.post(f"/api/v1/signals/{signal_['id']}/receive")
        assert answer.status_code == 200
        wait_for(lambda: pieces() == 100, what="a container more (up to the bin's capacity)")
        assert open_signals() == []
    finally:
        gw.kill(signal.SIGTERM)
