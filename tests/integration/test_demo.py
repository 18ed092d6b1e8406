"""`kanban-edge demo` (what `make demo` runs): broker, service, edge poller and simulator on the demo plant."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_for
from tests.influx_servers import Influxd

pytestmark = pytest.mark.integration


def test_demo_shows_signals_wip_and_a_status_line_writes_history_and_stops_on_ctrl_c(
    tmp_path: Path, influxd: Influxd
) -> None:
    influxd.query("DROP DATABASE kanban")  # the demo creates it
    demo = (ROOT / "config" / "demo-plant.yaml").read_text()
    mqtt_port, api_port = free_port(), free_port()
    plant = tmp_path / "plant.yaml"
    plant.write_text(
        demo.replace("localhost:1883", f"127.0.0.1:{mqtt_port}")
        .replace("port: 8080", f"port: {api_port}")
        .replace("data/demo-plant.db", str(tmp_path / "demo.db"))
        .replace("port: 15021", f"port: {free_port()}")
        .replace("port: 15022", f"port: {free_port()}")
    )
    output = tmp_path / "demo.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "demo", "--config", str(plant), "--speed", "3000", "--seed", "1",
             "--influx-url", influxd.url],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{api_port}"
    try:
        def get(path: str) -> dict[str, object]:
            try:
                answer: dict[str, object] = httpx.get(f"{api}{path}", timeout=2).json()
            except httpx.HTTPError:
                return {}
            return answer

        wait_for(lambda: get("/api/v1/signals?status=open").get("count"), timeout_s=60, what="an open signal")

        def counted_in() -> int:
            stations = get("/api/v1/stations").get("stations", [])
            assert isinstance(stations, list)
            return sum(s["units_in"] for s in stations)

        wait_for(lambda: counted_in() > 0, timeout_s=60, what="the simulated PLCs to feed the stations")
        wait_for(lambda: "open signals" in output.read_text(), timeout_s=30, what="a status line")
        wait_for(lambda: influxd.query("SELECT count(pieces) FROM bin_level"), timeout_s=30, what="levels in InfluxDB")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    text = output.read_text()
    assert proc.returncode == 0, text[-3000:]
    assert f"{api}/andon" in text
    assert f"{api}/api/v1/signals?status=open" in text
    assert "Traceback" not in text, text[-3000:]
