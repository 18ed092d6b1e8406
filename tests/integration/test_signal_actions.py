"""The card lifecycle through the HTTP API of a running service: transitions, 409s, idempotency, pages."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import Broker, Gateway, messages, wait_for

pytestmark = pytest.mark.integration

FULL = 500 + 100 * 10
LOW = 500 + 25 * 10


def post(gw: Gateway, path: str, body: dict[str, object] | None = None, key: str | None = None) -> httpx.Response:
    return gw.post(path, body, headers={"Idempotency-Key": key} if key else {})


def released_signal(broker: Broker, gw: Gateway) -> str:
    broker.publish_many(f"{gw.prefix}/scale/B1", [json.dumps({"weight_g": w}) for w in (FULL, LOW, LOW)])
    signals = wait_for(lambda: gw.get("/api/v1/signals?status=open").json()["signals"], what="an open signal")
    assert isinstance(signals, list)
    return str(signals[0]["id"])


def test_acknowledge_ship_receive_are_kept_as_transitions_and_published(broker: Broker, gateway: Gateway) -> None:
    signal_id = released_signal(broker, gateway)
    sub = broker.subscribe(f"{gateway.prefix}/signal/B1", count=3)

    ack = post(gateway, f"/api/v1/signals/{signal_id}/acknowledge", {"by": "erp"})
    assert ack.status_code == 200
    assert (ack.json()["status"], ack.json()["open"]) == ("acknowledged", True)
    ship = post(gateway, f"/api/v1/signals/{signal_id}/ship", {"by": "acme", "asn": "ASN-42"})
    assert (ship.json()["status"], ship.json()["shipped_qty"], ship.json()["asn"]) == ("shipped", 100, "ASN-42")
    received = post(gateway, f"/api/v1/signals/{signal_id}/receive")
    assert (received.json()["status"], received.json()["open"]) == ("received", False)

    signal = gateway.get(f"/api/v1/signals/{signal_id}").json()
    assert [(t["kind"], t["by"]) for t in signal["transitions"]] == [
        ("signal_released", "scale"), ("signal_acknowledged", "erp"), ("signal_shipped", "acme"),
        ("signal_received", "api"),
    ]
    assert [body["type"] for _, body in messages(sub)] == ["signal_acknowledged", "signal_shipped", "signal_received"]
    assert gateway.get("/api/v1/bins/B1").json()["open_cards"] == 0
    loop = gateway.get("/api/v1/loops/B1").json()
    assert (loop["open_cards"], loop["card_states"]) == (
        0, [{"card": 1, "status": "home", "signal_id": None, "released_at": None}]
    )


def test_loops_show_which_cards_are_out(broker: Broker, gateway: Gateway) -> None:
    signal_id = released_signal(broker, gateway)
    post(gateway, f"/api/v1/signals/{signal_id}/acknowledge")
    loops = gateway.get("/api/v1/loops").json()
    assert [loop["id"] for loop in loops["loops"]] == ["B1", "B2"]
    b1 = gateway.get("/api/v1/loops/B1").json()
    assert (b1["pieces"], b1["open_cards"], b1["supplier"], b1["lead_time_h"]) == (25, 1, "acme", 24.0)
    assert [(c["card"], c["status"], c["signal_id"]) for c in b1["card_states"]] == [(1, "acknowledged", signal_id)]
    assert gateway.get("/api/v1/loops/NOPE").status_code == 404


def test_illegal_transitions_answer_409_with_the_reason(broker: Broker, gateway: Gateway) -> None:
    signal_id = released_signal(broker, gateway)
    assert post(gateway, f"/api/v1/signals/{signal_id}/cancel").status_code == 200

    answer = post(gateway, f"/api/v1/signals/{signal_id}/receive")
    assert answer.status_code == 409
    assert answer.json()["error"] == {
        "code": "illegal_transition",
        "message": f"cannot receive signal {signal_id}: it was cancelled and is closed",
    }
    assert post(gateway, "/api/v1/signals/NOPE-1/ship").status_code == 404


def test_idempotency_key_repeats_the_first_answer(broker: Broker, gateway: Gateway) -> None:
    signal_id = released_signal(broker, gateway)
    first = post(gateway, f"/api/v1/signals/{signal_id}/acknowledge", key="erp-771")
    again = post(gateway, f"/api/v1/signals/{signal_id}/acknowledge", key="erp-771")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    plain = post(gateway, f"/api/v1/signals/{signal_id}/acknowledge")
    assert plain.status_code == 409  # without the key it is a second acknowledgement
    reused = post(gateway, f"/api/v1/signals/{signal_id}/ship", key="erp-771")
    assert reused.status_code == 422
    assert "erp-771" in reused.json()["error"]["message"]
    transitions = gateway.get(f"/api/v1/signals/{signal_id}").json()["transitions"]
    assert [t["kind"] for t in transitions] == ["signal_released", "signal_acknowledged"]


def test_signals_are_filtered_and_paged_with_a_cursor(broker: Broker, gateway: Gateway) -> None:
    for _ in range(3):  # three cycles: three signals on B1, each cancelled
        signal_id = released_signal(broker, gateway)
        post(gateway, f"/api/v1/signals/{signal_id}/cancel")
        broker.publish_many(f"{gateway.prefix}/scale/B1", [str(FULL), str(FULL)])
        wait_for(lambda: gateway.get("/api/v1/bins/B1").json()["armed"], what="B1 to re-arm")
    first = gateway.get("/api/v1/signals?status=cancelled&limit=2").json()
    assert [s["id"] for s in first["signals"]] == ["B1-3", "B1-2"]
    rest = gateway.get(f"/api/v1/signals?status=cancelled&limit=2&cursor={first['next_cursor']}").json()
    assert [s["id"] for s in rest["signals"]] == ["B1-1"]
    assert rest["next_cursor"] is None
    assert gateway.get("/api/v1/signals?supplier=acme&line=L2").json()["count"] == 0
    assert gateway.get("/api/v1/signals?since=2999-01-01T00:00:00Z").json()["count"] == 0
    assert gateway.get("/api/v1/signals?cursor=garbage").status_code == 422
