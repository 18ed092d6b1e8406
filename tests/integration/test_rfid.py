"""RFID two-bin kanban through a real broker and the service as a process: reads release and receive cards,
scale readings release the others, and the signals show it through the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, messages, wait_for

pytestmark = pytest.mark.integration

CARD_1 = "E28011606000020A1B2C3D01"
CARD_2 = "E28011606000020A1B2C3D02"
SGTIN = "3074257BF7194E4000001A85"  # GTIN 80614141123458, item WASHER

PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
  - {{sku: WASHER, unit_weight_g: 2, supplier: acme, gtin: "80614141123458"}}
bins:
  - {{id: R1, sku: BOLT, line: L1, station: S1, container_qty: 100, cards: 2, reorder_point: 30,
      receive_by_scale: false, debounce: {{readings: 1}}, scale: {{tare_g: 500}}}}
  - {{id: W1, sku: WASHER, line: L1, station: S2, container_qty: 500, cards: 2, reorder_point: 100}}
rfid:
  dedup_window_s: 0
  readers:
    - {{id: post-1, role: kanban_post}}
    - {{id: dock-1, role: receiving}}
  tags:
    - {{epc: "{card_1}", loop: R1, card: 1}}
    - {{epc: "{card_2}", loop: R1, card: 2}}
"""


@pytest.fixture
def plant(broker: Broker, tmp_path: Path) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, "rfid", PLANT, card_1=CARD_1, card_2=CARD_2)
    gw.start()
    yield gw
    gw.stop()


def zebra(epc: str, antenna: int = 1) -> str:
    return json.dumps({"data": {"idHex": epc, "antenna": antenna, "peakRssi": -50, "eventNum": 1, "format": "epc"},
                       "timestamp": "2026-11-27T10:00:00.000+0000", "type": "SIMPLE"})


def r700(epc: str) -> str:
    return json.dumps({"timestamp": "2026-11-27T10:00:01.123456789Z", "hostname": "r700", "eventType": "tagInventory",
                       "tagInventoryEvent": {"epcHex": epc, "antennaPort": 1, "peakRssiCdbm": -5000}})


def signals(gw: Gateway, query: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = gw.get(f"/api/v1/signals?{query}").json()["signals"]
    return found


def test_post_and_dock_reads_with_scale_readings(broker: Broker, plant: Gateway) -> None:
    prefix = plant.prefix
    broker.publish(f"{prefix}/rfid/post-1", zebra(CARD_1))
    [released] = wait_for(lambda: signals(plant, "status=open&loop=R1"), what="card 1 released")  # type: ignore[misc]
    assert (released["card"], released["released_by"]) == (1, "rfid:post-1")

    broker.publish(f"{prefix}/rfid/post-1", json.dumps([json.loads(zebra(CARD_1, antenna=2))]))  # same card again
    broker.publish_many(f"{prefix}/scale/R1", [json.dumps({"weight_g": 500 + 10 * n}) for n in (200, 25)])
    wait_for(lambda: len(signals(plant, "status=open&loop=R1")) == 2, what="the scale to release card 2")
    assert sorted((s["card"], s["released_by"]) for s in signals(plant, "loop=R1")) == [  # type: ignore[type-var]
        (1, "rfid:post-1"), (2, "scale")
    ]

    broker.publish(f"{prefix}/rfid/dock-1", r700(CARD_1))
    wait_for(lambda: signals(plant, "status=received"), what="card 1 received at the dock")
    signal_1 = plant.get(f"/api/v1/signals/{released['id']}").json()
    assert [(t["kind"], t["by"]) for t in signal_1["transitions"]] == [
        ("signal_released", "rfid:post-1"), ("signal_received", "rfid:dock-1")
    ]
    loop = plant.get("/api/v1/loops/R1").json()
    assert [(c["card"], c["status"]) for c in loop["card_states"]] == [(1, "home"), (2, "released")]


def test_sgtin_tag_counts_by_gtin_and_speedway_connect_format(broker: Broker, plant: Gateway) -> None:
    read = {"antennaPort": 1, "epc": SGTIN, "firstSeenTimestamp": 1795000000000000, "peakRssi": -60,
            "isHeartBeat": False}
    broker.publish(f"{plant.prefix}/rfid/post-1", json.dumps(read))
    broker.publish(f"{plant.prefix}/rfid/post-1", json.dumps(read))  # the same container read again: no-op
    [released] = wait_for(lambda: signals(plant, "loop=W1"), what="a W1 card released")  # type: ignore[misc]
    assert released["sku"] == "WASHER"
    broker.publish(f"{plant.prefix}/rfid/dock-1", json.dumps(read | {"isHeartBeat": True}))  # heartbeat only
    broker.publish(f"{plant.prefix}/rfid/dock-1", json.dumps(read))
    wait_for(lambda: signals(plant, "loop=W1&status=received"), what="the W1 card received")
    assert len(signals(plant, "loop=W1")) == 1


def test_unknown_reader_and_unknown_format_go_to_the_dead_letter_topic(broker: Broker, plant: Gateway) -> None:
    sub = broker.subscribe(f"{plant.prefix}/deadletter", count=2)
    broker.publish(f"{plant.prefix}/rfid/post-1", json.dumps({"tag": CARD_1}))
    broker.publish(f"{plant.prefix}/rfid/nobody", zebra(CARD_1))
    reasons = sorted(str(body["reason"]) for _, body in messages(sub))
    assert reasons == ["unknown_reader", "unknown_rfid_format"]
    assert signals(plant, "loop=R1") == []
