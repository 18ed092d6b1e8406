"""The Modbus poller against a real pymodbus TCP server on loopback, through a real mosquitto to the gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.register_codec import encode
from tests.conftest import PLANT_HEADER, ROOT, Broker, Gateway, free_port, make_gateway, messages, wait_for
from tests.edge.plc_server import PlcServer

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
plcs:
  - id: plc1
    host: 127.0.0.1
    port: {plc_port}
    poll_interval_s: 0.1
    timeout_s: 0.5
    heartbeat_s: 2
    points:
      - {{name: abcd, address: 0, type: uint32, order: ABCD}}
      - {{name: cdab, address: 2, type: uint32, order: CDAB}}
      - {{name: badc, address: 4, type: uint32, order: BADC}}
      - {{name: dcba, address: 6, type: uint32, order: DCBA}}
      - {{name: pressure, table: input, address: 10, type: float32, order: CDAB, scale: 0.5, offset: 1}}
      - {{name: parts_in, address: 20, type: uint16, counter: {{}}}}
      - {{name: parts_out, address: 21, type: uint16, counter: {{}}}}
      - {{name: running, table: discrete, address: 3, type: bool}}
      - {{name: unmapped, address: 500, type: uint16}}
stations:
  - {{id: S1, line: L1, in_counters: [plc1/parts_in], out_counters: [plc1/parts_out], wip_limit: 100}}
"""


@pytest.fixture
def plc(tmp_path: Path) -> Iterator[PlcServer]:
    server = PlcServer(free_port())
    server.input_registers[10:12] = encode(20.0, "float32", "CDAB")
    server.discrete_inputs[3] = True
    for address in (0, 2, 4, 6):
        order = {0: "ABCD", 2: "CDAB", 4: "BADC", 6: "DCBA"}[address]
        server.holding_registers[address:address + 2] = encode(0x11223344, "uint32", order)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def plant(broker: Broker, plc: PlcServer, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """The service, configured but not started (tests start it when their PLC is ready); stopped afterwards."""
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT, plc_port=plc.port)
    yield gw
    gw.stop()


@pytest.fixture
def edge(plant: Gateway) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "edge", "--config", str(plant.config)],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    yield proc
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)


def edge_log(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    return err.decode()


def test_values_in_every_word_order_and_a_refused_point_named(
    broker: Broker, plant: Gateway, edge: subprocess.Popen[bytes]
) -> None:
    sub = broker.subscribe(f"{plant.prefix}/plc/plc1/+", count=9, timeout_s=20)
    latest = {topic.rsplit("/", 1)[1]: body for topic, body in messages(sub)}
    values = {name: body["value"] for name, body in latest.items() if "value" in body}
    assert values == {
        "abcd": 0x11223344, "cdab": 0x11223344, "badc": 0x11223344, "dcba": 0x11223344,
        "pressure": 11.0, "parts_in": 0, "parts_out": 0, "running": True,
    }
    assert latest["status"]["online"] is True
    assert "ts" in latest["abcd"]
    log = edge_log(edge)
    assert "point unmapped (holding address 500, uint16): Modbus exception 2 (illegal data address)" in log
    assert "Traceback" not in log


def test_counters_rollover_reset_and_plc_restart_reach_station_wip(
    broker: Broker, plc: PlcServer, plant: Gateway, edge: subprocess.Popen[bytes]
) -> None:
    plc.write(20, [65530, 0])
    plant.start()

    def station() -> dict[str, object]:
        [s1] = plant.get("/api/v1/stations").json()["stations"]
        return dict(s1)

    def alarms() -> list[dict[str, object]]:
        return list(plant.get("/api/v1/alarms").json()["alarms"])

    def counted(units_in: int, units_out: int) -> bool:
        s1 = station()
        return (s1["units_in"], s1["units_out"]) == (units_in, units_out)

    # A full poll is nine messages (eight points and the status): then the counters' first values are in.
    wait_for(lambda: plant.get("/api/v1/counters").json()["processed_since_start"] >= 9, what="first values")
    plc.write(20, [3, 2])  # parts_in rolls over 65530 → 3 (+9), parts_out 0 → 2
    wait_for(lambda: counted(9, 2), what="the rollover to be counted")
    assert station()["wip"] == 7

    plc.stop()  # the PLC is switched off ...
    wait_for(lambda: [a["kind"] for a in alarms()] == ["plc_offline"], what="the PLC offline alarm")
    [offline] = alarms()
    assert offline["subject"] == "plc1"
    assert "127.0.0.1" in str(offline["detail"])
    plc.start()  # ... and restarts with its counters reset
    plc.write(20, [1, 0])
    wait_for(lambda: not alarms(), what="the PLC offline alarm to clear")
    wait_for(lambda: counted(10, 2), what="the reset to count only the unit made since")
    assert station()["wip"] == 8


def test_pollers_can_run_inside_the_gateway(plc: PlcServer, plant: Gateway) -> None:
    plant.config.write_text(plant.config.read_text() + "edge: {in_gateway: true}\n")
    plant.start()
    wait_for(lambda: plant.get("/api/v1/counters").json()["processed_since_start"] >= 9, what="first values")
    # 12 in and 5 out in one write: written one after the other, a poll between them could see the parts
    # leave before they came, and WIP does not go below zero.
    plc.write(20, [12, 5])

    def station() -> dict[str, object]:
        return dict(plant.get("/api/v1/stations").json()["stations"][0])

    # parts_in and parts_out are separate messages: wait for both before reading the WIP.
    wait_for(lambda: (station()["units_in"], station()["units_out"]) == (12, 5), what="both counters counted")
    assert station()["wip"] == 7


LIGHTS = """\
    lights:
      - {station: L1/S1, coils: {green: 10, yellow: 11, red: 12, blue: 13}}
      - {station: L1/S2, holding_register: 50}
stations:
  - {id: S2, line: L1}
"""


def test_stack_lights_follow_andon_and_are_rewritten_after_a_plc_restart(plc: PlcServer, plant: Gateway) -> None:
    plant.config.write_text(plant.config.read_text().replace("stations:\n", LIGHTS))
    lights = subprocess.Popen(
        [sys.executable, "-m", "gateway", "edge", "--config", str(plant.config)],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        plant.start()
        lamps = ["green", "yellow", "red", "blue"]

        def shown() -> tuple[str, int]:
            coils = plc.read_coils(10, 4)
            lit = [lamp for lamp, on in zip(lamps, coils, strict=True) if on]
            return ",".join(lit), plc.read_holding(50, 1)[0]

        wait_for(lambda: shown() == ("green", 1), what="green on both lights")
        httpx.post(f"{plant.api}/api/v1/stations/S1/wip", json={"wip": 100}, timeout=5)
        wait_for(lambda: shown() == ("red", 1), what="red on the light of S1")

        plc.stop()  # the PLC restarts and comes back with its outputs off
        plc.coils = [False] * len(plc.coils)
        plc.holding_registers[50] = 0
        plc.start()
        wait_for(lambda: shown() == ("red", 1), what="the lights written again after the PLC came back")
    finally:
        lights.send_signal(signal.SIGTERM)
        lights.wait(timeout=15)


def test_zero_based_addresses_match_mbpoll_references(plc: PlcServer) -> None:
    """Debian's mbpoll numbers registers from 1: the point at `address: 2` is mbpoll's reference 3."""
    out = subprocess.run(
        ["mbpoll", "-m", "tcp", "-a", "1", "-t", "4:hex", "-r", "3", "-c", "2", "-1", "-p", str(plc.port),
         "127.0.0.1"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout
    registers = [int(line.split()[-1], 16) for line in out.splitlines() if line.startswith("[")]
    assert registers == encode(0x11223344, "uint32", "CDAB")  # what the fixture put at address 2 (point cdab)
