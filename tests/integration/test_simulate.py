"""`kanban-edge simulate` on the demo plant, with the service and the edge poller as their own processes
against a real mosquitto: scales release signals, the simulated PLCs' counters fill the stations, RFID posts
release cards, and the edge poller writes the Andon colours back to the simulated stack lights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from tests.conftest import ROOT, Broker, Gateway, free_port, wait_for

pytestmark = pytest.mark.integration

DEMO_PLANT = ROOT / "config" / "demo-plant.yaml"


def demo_plant(tmp_path: Path, mqtt_port: int) -> tuple[Gateway, dict[str, int]]:
    """The demo plant with a site, ports and database of its own."""
    api_port, plc_ports = free_port(), {"L1-plc": free_port(), "L2-plc": free_port()}
    site = f"sim-{os.getpid()}-{abs(hash(tmp_path.name)) % 10**6}"  # its own broker sessions and retained topics
    text = (DEMO_PLANT.read_text()
            .replace("site: demo-plant", f"site: {site}")
            .replace("localhost:1883", f"127.0.0.1:{mqtt_port}")
            .replace("port: 8080", f"port: {api_port}")
            .replace("data/demo-plant.db", str(tmp_path / "state.db"))
            .replace("port: 15021", f"port: {plc_ports['L1-plc']}")
            .replace("port: 15022", f"port: {plc_ports['L2-plc']}"))
    config = tmp_path / "plant.yaml"
    config.write_text(text)
    return Gateway(config=config, api=f"http://127.0.0.1:{api_port}", prefix=f"kanban/{site}"), plc_ports


def command(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "gateway", *args], cwd=ROOT, stdout=out, stderr=out,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


@pytest.fixture
def running(broker: Broker, tmp_path: Path) -> Iterator[tuple[Gateway, dict[str, int], list[subprocess.Popen[bytes]]]]:
    gw, plc_ports = demo_plant(tmp_path, broker.port)
    gw.start()
    log = tmp_path / "devices.log"
    simulator = command("simulate", "--config", str(gw.config), "--speed", "3000", "--seed", "7", log=log)
    edge = command("edge", "--config", str(gw.config), log=log)
    yield gw, plc_ports, [simulator, edge]
    for proc in (simulator, edge):
        if proc.poll() is None:
            stop(proc)
    gw.stop()


def lamps_lit(port: int, first_coil: int, count: int) -> list[bool]:
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2)
    try:
        if not client.connect():
            return []
        return list(client.read_coils(first_coil, count=count, device_id=1).bits[:count])
    finally:
        client.close()


def test_simulated_plant_releases_signals_counts_wip_and_drives_the_stack_lights(
    running: tuple[Gateway, dict[str, int], list[subprocess.Popen[bytes]]],
) -> None:
    gw, plc_ports, devices = running

    def released_by() -> set[str]:
        signals = gw.get("/api/v1/signals?status=all&limit=1000").json()["signals"]
        return {str(s["released_by"]).split(":")[0] for s in signals}

    wait_for(lambda: {"scale", "rfid"} <= released_by(), timeout_s=60,
             what="signals released by a scale and by an RFID kanban post")
    rfid = [s for s in gw.get("/api/v1/signals?status=all&limit=1000").json()["signals"]
            if s["released_by"].startswith("rfid:post-")]
    assert {s["bin_id"] for s in rfid} <= {"L1-S13-GROMMET", "L1-S14-HOUSING", "L2-S22-SEAL", "L2-S23-CAP"}

    def wip() -> dict[str, int]:
        return {s["id"]: s["wip"] for s in gw.get("/api/v1/stations").json()["stations"] if s["units_in"] > 0}

    wait_for(lambda: len(wip()) >= 4 and any(w > 0 for w in wip().values()), timeout_s=60,
             what="the simulated PLCs' counters to put WIP into the stations")

    lamp = {"green": 0, "yellow": 1, "red": 2, "blue": 3}

    def light_shows_andon() -> bool:
        andon = {s["station"]: s["colour"] for s in gw.get("/api/v1/andon").json()["stations"] if s["line"] == "L1"}
        coils = lamps_lit(plc_ports["L1-plc"], 100, 24)
        return len(coils) == 24 and any(coils[i * 4 + lamp[andon[f"S1{i + 1}"]]] for i in range(6))

    wait_for(light_shows_andon, timeout_s=30, what="the edge poller to write an Andon colour to a stack light")
    assert [stop(proc) for proc in devices] == [0, 0]
    log = (gw.config.parent / "devices.log").read_text()
    assert "Traceback" not in log, log[-3000:]
