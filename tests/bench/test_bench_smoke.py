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
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["loops"] == 50
    assert result["messages"] == 2000
    assert result["raw"]["received"] == 2000
    assert result["service"]["processed"] == 2000
    assert result["service"]["loss"] == 0
    assert result["service"]["rejected"] == {}
    assert result["raw"]["msg_per_s"] > 0
    assert result["service"]["readings_per_s"] > 0
    assert result["ratio"] > 0
    assert result["service"]["startup_s"] > 0
    assert result["service"]["rss_peak_mb"] > 0
    assert "service throughput" in proc.stdout
