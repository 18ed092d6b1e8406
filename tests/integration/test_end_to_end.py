"""A scale bin crossing its reorder point becomes a kanban pull signal, through a real broker and process."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.conftest import PLANT, Broker, Gateway, make_gateway, messages, wait_for

pytestmark = pytest.mark.integration

# B1: tare 500 g, 10 g per piece, reorder point 30, reset point 60, debounce 2 readings.
FULL = 500 + 100 * 10
LOW = 500 + 25 * 10


def open_signals(gw: Gateway) -> list[dict[str, object]]:
    signals: list[dict[str, object]] = gw.get("/api/v1/signals?status=open").json()["signals"]
    return signals


def drain_b1(broker: Broker, gw: Gateway) -> None:
    readings = [json.dumps({"weight_g": w}) for w in (FULL, 500 + 50 * 10, LOW, LOW)]
    broker.publish_many(f"{gw.prefix}/scale/B1", readings)


def test_crossing_releases_one_signal_visible_in_api_and_on_signal_topic(broker: Broker, gateway: Gateway) -> None:
    sub = broker.subscribe(f"{gateway.prefix}/signal/+", count=1)
    drain_b1(broker, gateway)

    signals = wait_for(lambda: open_signals(gateway), what="an open signal")
    assert isinstance(signals, list)
    assert [(s["bin_id"], s["sku"], s["quantity"], s["pieces_at_release"]) for s in signals] == [
        ("B1", "BOLT", 100, 25)
    ]
    [(topic, body)] = messages(sub)
    assert topic == f"{gateway.prefix}/signal/B1"
    assert body["type"] == "signal_released"
    assert body["signal_id"] == signals[0]["id"]
    assert body["supplier"] == "acme"

    b1 = gateway.get("/api/v1/bins/B1").json()
    assert (b1["pieces"], b1["level_pct"], b1["stale"], b1["armed"]) == (25, 25.0, False, False)
    assert b1["open_signal"]["id"] == signals[0]["id"]


def test_more_low_readings_do_not_release_a_second_signal_and_refill_closes_it(
    broker: Broker, gateway: Gateway
) -> None:
    drain_b1(broker, gateway)
    wait_for(lambda: open_signals(gateway), what="an open signal")
    broker.publish_many(f"{gateway.prefix}/scale/B1", [json.dumps({"weight_g": LOW - 10 * i}) for i in range(5)])
    broker.publish_many(f"{gateway.prefix}/scale/B1", [str(FULL), str(FULL)])  # bare grams

    closed = wait_for(
        lambda: gateway.get("/api/v1/signals?status=closed").json()["signals"], what="the signal to close"
    )
    assert isinstance(closed, list)
    assert [(s["bin_id"], s["close_reason"]) for s in closed] == [("B1", "refill")]
    assert open_signals(gateway) == []
    assert gateway.get("/api/v1/bins/B1").json()["armed"] is True


def test_tasmota_hx711_on_its_own_topic(broker: Broker, gateway: Gateway) -> None:
    for kg in (1.5, 0.75, 0.75):  # 500 g tare: 100 pieces, then 25
        broker.publish("tele/hx711-b2/SENSOR", json.dumps({"Time": "2024-01-01T10:00:00", "HX711": {"Weight": kg}}))
    signals = wait_for(lambda: open_signals(gateway), what="a signal for B2")
    assert isinstance(signals, list)
    assert [s["bin_id"] for s in signals] == ["B2"]


@pytest.mark.parametrize(
    ("topic_suffix", "payload", "reason"),
    [
        ("scale/B1", "not json", "invalid_json"),
        ("scale/B1", '{"weight_g": "heavy"}', "invalid_payload"),
        ("scale/B1", '{"weight_g": NaN}', "not_finite"),
        ("scale/B1", '{"weight_g": 100}', "negative_weight"),
        ("scale/B1", '{"weight_g": 99999}', "over_capacity"),
        ("scale/NOPE", '{"weight_g": 900}', "unknown_bin"),
        ("scale/B2", '{"weight_g": 900}', "unknown_bin"),  # B2's scale publishes on a topic of its own
        ("scale/B1", '{"weight_g": 900, "ts": "2999-01-01T00:00:00Z"}', "future_timestamp"),
        ("scale/B1", "{" + " " * 70_000 + "}", "payload_too_large"),
    ],
)
def test_bad_input_goes_to_deadletter_with_reason_and_is_counted(
    broker: Broker, gateway: Gateway, topic_suffix: str, payload: str, reason: str
) -> None:
    sub = broker.subscribe(f"{gateway.prefix}/deadletter", count=1)
    broker.publish(f"{gateway.prefix}/{topic_suffix}", payload)

    [(_, body)] = messages(sub)
    assert body["reason"] == reason
    assert body["topic"] == f"{gateway.prefix}/{topic_suffix}"
    assert body["detail"]
    counters = gateway.get("/api/v1/counters").json()
    assert counters["rejected"] == {reason: 1}
    assert gateway.get("/healthz").status_code == 200  # still running


def test_unknown_ids_answer_404_with_a_json_error(gateway: Gateway) -> None:
    for path in ("/api/v1/bins/NOPE", "/api/v1/signals/NOPE-1"):
        answer = gateway.get(path)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
        assert "NOPE" in answer.json()["error"]["message"]


def test_kill_9_after_release_keeps_the_signal_and_releases_no_second(broker: Broker, gateway: Gateway) -> None:
    drain_b1(broker, gateway)
    [first] = wait_for(lambda: open_signals(gateway), what="an open signal")  # type: ignore[misc]
    assert gateway.kill(signal.SIGKILL) == -signal.SIGKILL

    gateway.start()
    broker.publish_many(f"{gateway.prefix}/scale/B1", [json.dumps({"weight_g": LOW}) for _ in range(4)])
    wait_for(lambda: gateway.get("/api/v1/bins/B1").json()["pieces"] == 25, what="readings after restart")
    assert [s["id"] for s in open_signals(gateway)] == [first["id"]]
    assert gateway.get("/api/v1/signals?status=all").json()["count"] == 1


def test_readings_sent_while_the_service_is_down_are_processed_after_restart(
    broker: Broker, gateway: Gateway
) -> None:
    assert gateway.kill(signal.SIGTERM) == 0  # clean stop; the broker keeps the persistent session
    drain_b1(broker, gateway)  # QoS 1, queued by the broker for the service's session

    gateway.start()
    signals = wait_for(lambda: open_signals(gateway), what="a signal from queued readings")
    assert isinstance(signals, list)
    assert [s["bin_id"] for s in signals] == ["B1"]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_every_reading_queued_while_the_service_restarts_is_processed_once_with_either_protocol(
    broker: Broker, tmp_path: Path, protocol: str
) -> None:
    template = PLANT.replace('mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}',
                             'mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}", protocol: "{protocol}"}}')
    gw = make_gateway(tmp_path, broker.port, f"queued-{protocol}", template, protocol=protocol)
    gw.start()
    try:
        assert gw.kill(signal.SIGTERM) == 0
        # 50 QoS 1 readings while the service is down: the broker keeps them for its session (MQTT 5: for the
        # session expiry interval the service asked for, 3.1.1: until the broker's own expiry).
        broker.publish_many(f"{gw.prefix}/scale/B1", [json.dumps({"weight_g": FULL - i}) for i in range(50)])
        gw.start()
        wait_for(lambda: gw.get("/api/v1/counters").json()["processed_since_start"] >= 50,
                 what="the queued readings to be processed")
        assert gw.get("/api/v1/counters").json()["processed_since_start"] == 50
        assert gw.get("/api/v1/bins/B1").json()["weight_g"] == FULL - 49
    finally:
        gw.stop()
