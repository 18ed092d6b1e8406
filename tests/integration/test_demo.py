"""`kanban-edge demo` (what `make demo` runs): broker, service and simulated scales produce open signals."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, wait_for

pytestmark = pytest.mark.integration


def test_demo_releases_signals_for_every_draining_bin_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    example = (ROOT / "config" / "example-plant.yaml").read_text()
    mqtt_port, api_port = free_port(), free_port()
    plant = tmp_path / "plant.yaml"
    plant.write_text(
        example.replace("localhost:1883", f"127.0.0.1:{mqtt_port}")
        .replace("port: 8080", f"port: {api_port}")
        .replace("data/demo-plant.db", str(tmp_path / "demo.db"))
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--config", str(plant), "--drain-seconds", "3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        def open_bins() -> set[str]:
            try:
                answer = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/signals?status=open", timeout=1)
            except httpx.HTTPError:
                return set()
            return {s["bin_id"] for s in answer.json()["signals"]}

        bins = {"L1-S1-M8X20", "L1-S1-WASHER", "L1-S2-CLIP", "L2-S1-M8X20", "L2-S3-CLIP"}
        wait_for(lambda: open_bins() == bins, timeout_s=30, what="an open signal for each of the five demo bins")

        def counted_in() -> int:
            stations = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/stations", timeout=1).json()["stations"]
            return sum(s["units_in"] for s in stations)

        wait_for(lambda: counted_in() > 0, what="the simulated press to feed the stations")
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out.decode()[-2000:]
    assert f"http://127.0.0.1:{api_port}/api/v1/signals?status=open" in out.decode()
    assert "Traceback" not in out.decode()
