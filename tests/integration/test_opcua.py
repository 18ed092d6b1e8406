"""OPC UA PLCs against a real asyncua server on loopback, through `kanban-edge edge` and mosquitto to the gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from asyncua import ua

from tests.conftest import PLANT_HEADER, ROOT, Broker, Gateway, free_port, make_gateway, wait_for
from tests.edge.opcua_server import OpcUaServer

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
plcs:
  - id: press2
    opcua: {{endpoint: "{endpoint}"}}
    poll_interval_s: 0.1
    timeout_s: 0.5
    heartbeat_s: 2
    points:
      - {{name: parts_in, node: "ns=2;s=PartsIn", type: uint16, counter: {{}}}}
      - {{name: parts_out, node: "ns=2;s=PartsOut", type: uint16, counter: {{}}}}
    lights:
      - {{station: L1/S1, node: "ns=2;s=S1Light"}}
      - {{station: L1/S2, lamp_nodes: {{green: "ns=2;s=S2Green", yellow: "ns=2;s=S2Yellow", red: "ns=2;s=S2Red"}}}}
stations:
  - {{id: S1, line: L1, in_counters: [press2/parts_in], out_counters: [press2/parts_out], wip_limit: 100}}
  - {{id: S2, line: L1}}
"""

U16, BOOL = ua.VariantType.UInt16, ua.VariantType.Boolean


@pytest.fixture
def plc() -> Iterator[OpcUaServer]:
    server = OpcUaServer(free_port(), {
        "PartsIn": (65530, U16), "PartsOut": (0, U16), "S1Light": (0, ua.VariantType.Int16),
        "S2Green": (False, BOOL), "S2Yellow": (False, BOOL), "S2Red": (False, BOOL),
    })
    server.start()
    yield server
    server.stop()


@pytest.fixture
def plant(broker: Broker, plc: OpcUaServer, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """The service and the edge process on the plant file, both stopped afterwards."""
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT, endpoint=plc.endpoint)
    edge = subprocess.Popen(
        [sys.executable, "-m", "gateway", "edge", "--config", str(gw.config)],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    gw.start()
    yield gw
    gw.stop()
    edge.send_signal(signal.SIGTERM)
    _, err = edge.communicate(timeout=15)
    assert edge.returncode == 0, err.decode()[-3000:]
    assert "Traceback" not in err.decode(), err.decode()[-3000:]


def station(gw: Gateway) -> dict[str, object]:
    return next(s for s in gw.get("/api/v1/stations").json()["stations"] if s["id"] == "S1")


def alarms(gw: Gateway) -> list[dict[str, object]]:
    return list(gw.get("/api/v1/alarms").json()["alarms"])


def counted(gw: Gateway, units_in: int, units_out: int) -> bool:
    s1 = station(gw)
    return (s1["units_in"], s1["units_out"]) == (units_in, units_out)


def test_counts_rollover_and_a_server_restart_reach_station_wip(plc: OpcUaServer, plant: Gateway) -> None:
    # Both counters' first values and the status: then a change counts.
    wait_for(lambda: plant.get("/api/v1/counters").json()["processed_since_start"] >= 3, what="first values")
    plc.set("PartsIn", 3)  # rolls over 65530 → 3: 9 units
    plc.set("PartsOut", 2)
    wait_for(lambda: counted(plant, 9, 2), what="the rollover to be counted")
    assert station(plant)["wip"] == 7

    plc.stop()  # the PLC is switched off ...
    wait_for(lambda: [a["kind"] for a in alarms(plant)] == ["plc_offline"], what="the PLC offline alarm")
    [offline] = alarms(plant)
    assert offline["subject"] == "press2"
    assert plc.endpoint in str(offline["detail"])
    plc.values["PartsIn"] = 1  # ... and comes back with its counters cleared
    plc.values["PartsOut"] = 0
    plc.start()
    wait_for(lambda: not alarms(plant), what="the PLC offline alarm to clear")
    wait_for(lambda: counted(plant, 10, 2), what="the reset to count only the unit made since")
    assert station(plant)["wip"] == 8


def test_stack_lights_follow_andon_and_are_written_again_after_a_server_restart(
    plc: OpcUaServer, plant: Gateway
) -> None:
    def shown() -> tuple[int, str]:
        lamps = [lamp for lamp in ("Green", "Yellow", "Red") if plc.get(f"S2{lamp}")]
        return plc.get("S1Light"), ",".join(lamps)

    wait_for(lambda: shown() == (1, "Green"), what="green on both lights")  # colour code 1: green
    httpx.post(f"{plant.api}/api/v1/stations/S1/wip", json={"wip": 100}, timeout=5)
    wait_for(lambda: shown() == (3, "Green"), what="red (3) on the light of S1")

    plc.stop()  # the PLC restarts with its outputs off
    plc.values.update(S1Light=0, S2Green=False)
    plc.start()
    wait_for(lambda: shown() == (3, "Green"), what="the lights written again after the PLC came back")


def test_the_gateway_can_read_opcua_plcs_itself(broker: Broker, plc: OpcUaServer, tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, broker.port, "opcua-in-gateway", PLANT + "edge: {{in_gateway: true}}\n",
                      endpoint=plc.endpoint)
    gw.start()
    try:
        wait_for(lambda: gw.get("/api/v1/counters").json()["processed_since_start"] >= 3, what="first values")
        plc.set("PartsIn", 65535)  # 65530 → 65535: 5 in
        wait_for(lambda: counted(gw, 5, 0), what="the counter counted by the gateway's own poller")
        wait_for(lambda: plc.get("S1Light") == 1, what="green written by the gateway")
    finally:
        gw.stop()
