"""Sparkplug B through a real broker: a pysparkplug edge node with a scale and a press counter feeds a bin (a
signal is released) and a station (WIP moves); a lost message gets a rebirth; the node's death raises the
offline and stale alarms; a corrupt payload is dead-lettered."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pysparkplug import DataType

from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, messages, wait_for
from tests.integration.sparkplug_node import TestEdgeNode

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
bins:
  - {{id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, debounce: {{readings: 2}},
     scale: {{tare_g: 500}}, stale_after_s: 60}}
plcs:
  - id: press1
    heartbeat_s: 60
    points:
      - {{name: parts_in, address: 0, type: uint32, counter: {{}}}}
      - {{name: parts_out, address: 2, type: uint32, counter: {{}}}}
stations:
  - {{id: S1, line: L1, in_counters: [press1/parts_in], out_counters: [press1/parts_out]}}
sparkplug:
  repeat_s: 1
  nodes:
    - group: {site}
      node: line1
      metrics:
        - {{device: scale-1, name: Weight, bin: B1, unit: kg}}
        - {{device: press-1, name: Counters/In, point: press1/parts_in}}
        - {{device: press-1, name: Counters/Out, point: press1/parts_out}}
"""

DEVICES = {
    "scale-1": [("Weight", DataType.DOUBLE, 1.5)],  # 500 g tare + 100 pieces of 10 g
    "press-1": [("Counters/In", DataType.UINT32, 1000), ("Counters/Out", DataType.UINT32, 500)],
}


@pytest.fixture
def plant(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Gateway, TestEdgeNode]]:
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT)
    gw.start()
    node = TestEdgeNode(gw.prefix.removeprefix("kanban/"), "line1", DEVICES)
    node.connect("127.0.0.1", port=broker.port, blocking=False)
    try:
        wait_for(lambda: bin_b1(gw)["pieces"] == 100, what="the births to reach bin B1")
        yield gw, node
    finally:
        node.disconnect()
        gw.stop()


def bin_b1(gw: Gateway) -> dict[str, object]:
    found: dict[str, object] = gw.get("/api/v1/bins/B1").json()
    return found


def wip(gw: Gateway) -> object:
    return gw.get("/api/v1/stations").json()["stations"][0]["wip"]


def sparkplug_counts(gw: Gateway) -> dict[str, int]:
    found: dict[str, int] = gw.get("/api/v1/counters").json()["sparkplug"]
    return found


def alarms(gw: Gateway) -> dict[tuple[str, str], str]:
    return {(a["kind"], a["subject"]): a["status"] for a in gw.get("/api/v1/alarms?status=all").json()["alarms"]}


def test_a_scale_and_a_counter_on_a_sparkplug_node_release_a_signal_and_move_wip(
    plant: tuple[Gateway, TestEdgeNode],
) -> None:
    gw, node = plant
    measured = time.time() + 2.0  # the node's clock runs 2 s ahead: its time is the reading's all the same
    node.send("press-1", {"Counters/In": 1007, "Counters/Out": 503}, ts_ms=round(measured * 1000))
    wait_for(lambda: wip(gw) == 4, what="WIP 7 in - 3 out")
    node.send("scale-1", {"Weight": 0.75})  # 25 pieces: below the reorder point, one reading of the two needed
    # Sparkplug reports by exception: the repeat of the unchanged value is the second reading.
    wait_for(lambda: gw.get("/api/v1/signals?status=open").json()["signals"], what="a signal for B1")
    [signal] = gw.get("/api/v1/signals?status=open").json()["signals"]
    assert (signal["bin_id"], bin_b1(gw)["pieces"]) == ("B1", 25)
    with httpx.stream("GET", f"{gw.api}/api/v1/events?type=wip_changed&after=0", timeout=10) as answer:
        line = next(line for line in answer.iter_lines() if line.startswith("data: "))
    event = json.loads(line.removeprefix("data: "))
    assert abs(time.mktime(time.strptime(event["ts"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone - measured) < 1.0


def test_a_lost_message_gets_a_rebirth_and_a_dead_node_raises_the_alarms(
    broker: Broker, plant: tuple[Gateway, TestEdgeNode],
) -> None:
    gw, node = plant
    answered = node.rebirths
    node.skip_seq()
    node.send("press-1", {"Counters/In": 1002})  # seq one too far: not applied, a rebirth asked for
    wait_for(lambda: node.rebirths > answered, what="the node to answer the rebirth request")
    wait_for(lambda: wip(gw) == 2, what="WIP from the rebirth's values")
    assert sparkplug_counts(gw)["sequence_gaps"] == 1

    deadletters = broker.subscribe(f"{gw.prefix}/deadletter", count=1)
    broker.publish(f"spBv1.0/{node.group_id}/DDATA/line1/scale-1", b"\x0a\xff\xff not protobuf")
    deadletters.wait(timeout=15)
    [(_, letter)] = messages(deadletters)
    assert letter["reason"] == "invalid_sparkplug"

    node.drop()  # the broker publishes its will: NDEATH
    wait_for(lambda: alarms(gw).get(("plc_offline", "press1")) == "active", what="press1 offline")
    wait_for(lambda: alarms(gw).get(("sensor_stale", "B1")) == "active", what="B1 stale")
