"""An MT-SICS scale (TCP device simulator) through `kanban-edge edge` and a real mosquitto to its bin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLANT_HEADER, ROOT, Broker, Gateway, free_port, make_gateway, messages, wait_for
from tests.edge.mtsics_simulator import MtSicsSimulator

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
items:
  - {{sku: BOLT, unit_weight_g: 10}}
bins:
  - {{id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
scales:
  - {{bin: B1, host: 127.0.0.1, port: {scale_port}, poll_interval_s: 0.1, timeout_s: 1}}
"""


@pytest.fixture
def scale() -> Iterator[MtSicsSimulator]:
    simulator = MtSicsSimulator(free_port())
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def plant(broker: Broker, scale: MtSicsSimulator, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT, scale_port=scale.port)
    gw.start()
    yield gw
    gw.stop()


def test_weights_reach_the_bin_and_conditions_are_states_not_crashes(
    broker: Broker, scale: MtSicsSimulator, plant: Gateway
) -> None:
    edge = subprocess.Popen(
        [sys.executable, "-m", "gateway", "edge", "--config", str(plant.config)],
        cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED="1"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        def pieces() -> object:
            return plant.get("/api/v1/bins/B1").json()["pieces"]

        scale.reply = b"S S    1.2500 kg"  # 1250 g gross, 500 g tare: 75 pieces
        wait_for(lambda: pieces() == 75, what="the stable weight in the bin")
        sub = broker.subscribe(f"{plant.prefix}/scale/B1", count=1)
        [(_, body)] = messages(sub)
        assert (body["weight_g"], body["stable"]) == (1250.0, True)

        for condition in (b"S I", b"S +", b"S -", b"ES", b"garbage"):
            scale.reply = condition
            count = len(scale.commands)
            wait_for(lambda n=count: len(scale.commands) > n + 2, what="the scale to be asked again")
        scale.reply = b"S D     905.00 g"  # dynamic: still moving
        sub = broker.subscribe(f"{plant.prefix}/scale/B1", count=1)
        [(_, body)] = messages(sub)
        assert (body["weight_g"], body["stable"]) == (905.0, False)
        wait_for(lambda: pieces() == 40, what="the dynamic weight shown as the level")
        assert set(scale.commands) == {b"SI"}

        scale.stop()  # the scale is switched off and on again
        scale.reply = b"S S     800.00 g"
        scale.start()
        wait_for(lambda: pieces() == 30, what="weights again after the scale came back")
    finally:
        edge.send_signal(signal.SIGTERM)
        _, err = edge.communicate(timeout=15)
    log = err.decode()
    for state in ("busy", "overload", "underload", "syntax_error", "unrecognised"):
        assert f"scale of bin B1: {state}" in log
    assert "scale of bin B1 lost at 127.0.0.1" in log
    assert "Traceback" not in log
    assert edge.returncode == 0
