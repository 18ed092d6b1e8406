"""The benchmark harness runs end to end in smoke mode: real mosquitto, the service as a process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_smoke_run_processes_every_message(tmp_path: Path) -> None:
    if not (shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")):
        pytest.fail("mosquitto is not installed: run `make test` (it installs it) or apt-get install mosquitto")
    out = tmp_path / "smoke.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--json", str(out)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["loops"] == 50
    assert result["messages"] == 2000
    for qos in ("qos1", "qos0"):
        assert result["raw"][qos]["received"] == 2000
        assert result["raw"][qos]["msg_per_s"] > 0
    svc = result["service"]
    assert svc["processed"] == 2000
    assert svc["loss"] == 0
    assert svc["rejected"] == {}
    assert svc["readings_per_s"] > 0
    assert (svc["qos0"]["processed"], svc["qos0"]["loss"]) == (2000, 0)
    assert svc["qos0"]["readings_per_s"] > 0
    assert result["ratio"] > 0
    assert svc["startup_s"] > 0
    assert svc["rss_peak_mb"] > 0
    assert "cpu_us_per_reading" in svc
    assert svc["latency"]["samples"] == 20
    assert svc["latency"]["missing"] == 0
    assert 0 < svc["latency"]["p50_ms"] <= svc["latency"]["p99_ms"] <= svc["latency"]["max_ms"]
    raw = result["raw"]["latency"]  # the same probes answered by bench/echo.py in the service's place
    assert (raw["samples"], raw["missing"]) == (20, 0)
    assert 0 < raw["p50_ms"] <= raw["p99_ms"] <= raw["max_ms"]
    sse = svc["latency"]["sse"]  # the same signals on the API's live event stream
    assert (sse["samples"], sse["missing"]) == (20, 0)
    assert 0 < sse["p50_ms"] <= sse["p99_ms"] <= sse["max_ms"]
    assert svc["rfid"]["events_published"] == 200
    assert (svc["backlog"]["processed"], svc["backlog"]["loss"]) == (2000, 0)  # queued while it was down
    assert svc["backlog"]["caught_up_s"] >= svc["backlog"]["startup_s"] > 0
    assert svc["rfid"]["lost"] == 0
    influx = result["influx"]  # influxd is installed by make test
    assert (influx["processed"], influx["loss"]) == (2000, 0)
    assert influx["influx"]["lines_written"] > 0
    assert influx["influx"]["lines_rejected"] == 0
    assert result["big"]["loops"] == 200
    assert result["big"]["startup_s"] > 0
    assert result["big"]["rss_peak_mb"] > 0
    assert "service throughput (QoS 0)" in proc.stdout
    assert "latency publish → signal" in proc.stdout
    assert "restart with 2,000 readings queued" in proc.stdout
    assert "latency publish → signal on /api/v1/events" in proc.stdout
