"""Fixtures that start real services: mosquitto on a free port, the gateway as a separate process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.influx_servers"]  # influxd and victoria-metrics fixtures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], object], timeout_s: float = 15.0, what: str = "condition") -> object:
    """Poll until `condition()` is truthy; fail the test with `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed: run `make test` (it installs it) or apt-get install mosquitto")
    return found


@dataclass
class Broker:
    port: int

    def publish(self, topic: str, payload: str | bytes, qos: int = 1) -> None:
        """Publish with the real mosquitto_pub client."""
        data = payload.encode() if isinstance(payload, str) else payload
        subprocess.run(
            [_binary("mosquitto_pub"), "-p", str(self.port), "-t", topic, "-q", str(qos), "-s"],
            input=data, check=True, timeout=10,
        )

    def publish_many(self, topic: str, payloads: list[str], qos: int = 1) -> None:
        """Publish one message per line with one client connection."""
        subprocess.run(
            [_binary("mosquitto_pub"), "-p", str(self.port), "-t", topic, "-q", str(qos), "-l"],
            input="\n".join(payloads).encode() + b"\n", check=True, timeout=30,
        )

    def subscribe(self, topic: str, count: int, timeout_s: int = 15) -> subprocess.Popen[bytes]:
        """Start mosquitto_sub for `count` messages; read them with `messages()`."""
        proc = subprocess.Popen(
            [_binary("mosquitto_sub"), "-p", str(self.port), "-t", topic, "-q", "1", "-C", str(count),
             "-W", str(timeout_s), "-v"],
            stdout=subprocess.PIPE,
        )
        time.sleep(0.3)  # mosquitto_sub has no "subscribed" signal; SUBACK takes well under this
        return proc


def messages(proc: subprocess.Popen[bytes]) -> list[tuple[str, dict[str, object]]]:
    """Topic and JSON body of every message a `Broker.subscribe` process received."""
    out, _ = proc.communicate(timeout=30)
    result = []
    for line in out.decode().splitlines():
        topic, _, body = line.partition(" ")
        result.append((topic, json.loads(body)))
    return result


def start_mosquitto(port: int, directory: Path, settings: str = "allow_anonymous true\n") -> subprocess.Popen[bytes]:
    """A real mosquitto listening on `port`, returned once it accepts connections."""
    conf = directory / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nmax_queued_messages 100000\n{settings}")
    proc = subprocess.Popen([_binary("mosquitto"), "-c", str(conf)], stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_for(up, what="mosquitto to listen")
    return proc


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A real mosquitto on a free loopback port for the whole test session."""
    port = free_port()
    proc = start_mosquitto(port, tmp_path_factory.mktemp("mosquitto"))
    yield Broker(port)
    proc.terminate()
    proc.wait(timeout=10)


PLANT_HEADER = """
site: {site}
mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}
storage: {{path: "{db}", snapshot_interval_s: 0.5}}
api: {{host: 127.0.0.1, port: {api_port}}}
"""
"""The first lines of every test plant: its own site, the test broker, a database and a free API port."""

PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
bins:
  - id: B1
    sku: BOLT
    line: L1
    station: S1
    container_qty: 100
    reorder_point: 30
    reset_point: 60
    debounce: {{readings: 2}}
    scale: {{tare_g: 500}}
  - id: B2
    sku: BOLT
    line: L1
    station: S2
    container_qty: 100
    reorder_point: 30
    scale: {{tare_g: 500, topic: "tele/hx711-b2/SENSOR"}}
"""


@dataclass
class Gateway:
    """The service running as its own process, as a plant engineer runs it."""

    config: Path
    api: str
    prefix: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """Where the service's log (its standard error) goes, appended to across restarts."""
        return self.config.with_name("service.log")

    def start(self, *, wait_healthy: bool = True) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # A file, not a pipe: a service that logs more than a pipe holds would block on it.
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run", "--config", str(self.config)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
            )
        if wait_healthy:
            wait_for(self.healthy, timeout_s=20, what="the service to report healthy")

    def health(self) -> httpx.Response | None:
        """The /healthz answer, or None while the API is not up; fails the test if the process died."""
        assert self.proc is not None
        if self.proc.poll() is not None:
            err = self.log.read_text(errors="replace")
            pytest.fail(f"service exited with {self.proc.returncode}:\n{err[-3000:]}")
        try:
            return httpx.get(f"{self.api}/healthz", timeout=1)
        except httpx.HTTPError:
            return None

    def healthy(self) -> bool:
        answer = self.health()
        return answer is not None and answer.status_code == 200

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", timeout=5)

    def post(self, path: str, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
        """A write as a client sends one: JSON (the API takes nothing else), with or without a body."""
        content = b"" if body is None else json.dumps(body).encode()
        return httpx.post(f"{self.api}{path}", content=content, timeout=5,
                          headers={"content-type": "application/json", **(headers or {})})

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def stop(self) -> None:
        """Stop the service as an operator would (SIGTERM), if it is running."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGTERM)


def make_gateway(tmp_path: Path, mqtt_port: int, name: str, template: str = PLANT, **fields: object) -> Gateway:
    """A service configured from `template`, not started; by default two bins (B1 on the standard topic, B2 on a
    Tasmota topic). The template is formatted with a site of its own, the broker port, a database in `tmp_path`,
    a free API port and `fields`."""
    site = f"t{abs(hash(name)) % 10**8}"
    api_port = free_port()
    config = tmp_path / "plant.yaml"
    config.write_text(template.format(site=site, mqtt_port=mqtt_port, db=tmp_path / "state.db", api_port=api_port,
                                      **fields))
    return Gateway(config=config, api=f"http://127.0.0.1:{api_port}", prefix=f"kanban/{site}")


@pytest.fixture
def gateway(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    """A started service on the session's broker, with its own site and database."""
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid)
    gw.start()
    yield gw
    gw.stop()
