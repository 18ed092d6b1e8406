"""Fixtures that start real time-series servers on free ports: InfluxDB 1.x and VictoriaMetrics."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.influxd import spawn_influxd
from tests.conftest import free_port, wait_for


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make test` (scripts/system-deps.sh installs it)")
    return found


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 300
    except httpx.HTTPError:
        return False


@dataclass
class Influxd:
    """A real InfluxDB 1.x (`influxd`) with its own data directory; stop and start it to make an outage."""

    directory: Path
    http_port: int
    database: str = "kanban"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self.proc = spawn_influxd(_binary("influxd"), self.directory, self.http_port, free_port())
        wait_for(lambda: _answers(f"{self.url}/ping"), timeout_s=30, what="influxd to answer /ping")
        self.query(f"CREATE DATABASE {self.database}")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def query(self, q: str) -> list[dict[str, Any]]:
        """Rows of an InfluxQL query as dicts (times in epoch milliseconds)."""
        answer = httpx.post(f"{self.url}/query", params={"db": self.database, "epoch": "ms"}, data={"q": q}, timeout=10)
        answer.raise_for_status()
        rows = []
        for series in answer.json()["results"][0].get("series", []):
            rows += [dict(zip(series["columns"], values, strict=True)) | series.get("tags", {})
                     for values in series["values"]]
        return rows


@pytest.fixture
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """A started influxd on a free port, database `kanban` created."""
    server = Influxd(tmp_path_factory.mktemp("influxd"), free_port())
    server.start()
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop()


@dataclass
class Victoria:
    """A real VictoriaMetrics: takes InfluxDB line protocol on /api/v2/write."""

    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of the series matching `match` (one dict per series: metric, values, timestamps)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10)
        answer = httpx.post(f"{self.url}/api/v1/export", data={"match[]": match}, timeout=10)
        answer.raise_for_status()
        return [json.loads(line) for line in answer.text.splitlines() if line]


@pytest.fixture
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victoria]:
    """A started victoria-metrics on a free port with its own data directory."""
    port = free_port()
    proc = subprocess.Popen(
        [_binary("victoria-metrics"), f"-storageDataPath={tmp_path_factory.mktemp('victoria')}",
         f"-httpListenAddr=127.0.0.1:{port}", "-retentionPeriod=100y", "-loggerLevel=ERROR"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = Victoria(port)
    wait_for(lambda: _answers(f"{server.url}/health"), timeout_s=30, what="victoria-metrics to answer /health")
    yield server
    proc.terminate()
    proc.wait(timeout=30)
