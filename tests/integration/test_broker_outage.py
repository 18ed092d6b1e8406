"""The service starts without a broker, reports it, connects when the broker comes, and survives its restart."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Broker, free_port, make_gateway, start_mosquitto, wait_for

pytestmark = pytest.mark.integration


def test_service_waits_for_the_broker_and_reconnects_after_a_broker_restart(tmp_path: Path) -> None:
    port = free_port()
    gw = make_gateway(tmp_path, port, "outage")
    gw.start(wait_healthy=False)
    broker_proc: subprocess.Popen[bytes] | None = None
    try:
        down = wait_for(gw.health, what="the API while the broker is down")
        assert down.status_code == 503  # type: ignore[union-attr]
        assert down.json()["broker_connected"] is False  # type: ignore[union-attr]
        assert down.json()["database_writable"] is True  # type: ignore[union-attr]

        broker_proc = start_mosquitto(port, tmp_path)
        wait_for(gw.healthy, timeout_s=40, what="the service to connect once the broker is up")

        broker_proc.terminate()
        broker_proc.wait(timeout=10)
        wait_for(lambda: not gw.healthy(), what="/healthz to report the lost broker")
        broker_proc = start_mosquitto(port, tmp_path)
        wait_for(gw.healthy, timeout_s=40, what="the service to reconnect")

        Broker(port).publish_many(
            f"{gw.prefix}/scale/B1", [json.dumps({"weight_g": w}) for w in (1500, 750, 750)]
        )
        signals = wait_for(
            lambda: gw.get("/api/v1/signals?status=open").json()["signals"], what="a signal after the reconnect"
        )
        assert [s["bin_id"] for s in signals] == ["B1"]  # type: ignore[union-attr]
    finally:
        gw.kill(signal.SIGTERM)
        if broker_proc is not None:
            broker_proc.terminate()
