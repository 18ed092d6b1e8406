"""docker/: what can be checked without a Docker engine. The compose file parses and every file it mounts or
builds from exists; the image is slim, runs as a user of its own and has a health check; the broker's
configuration works with a real mosquitto (no anonymous login, the password file's user gets in); the
Grafana provisioning names the datasource the dashboard uses. The dashboard's queries run against a real
InfluxDB in tests/integration/test_dashboard.py."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import main
from tests.conftest import ROOT, free_port, start_mosquitto

DOCKER = ROOT / "docker"
DASHBOARD = DOCKER / "grafana" / "dashboards" / "kanban-edge.json"


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return document


def test_compose_parses_and_every_file_it_mounts_or_builds_from_exists() -> None:
    services = compose()["services"]
    assert {"mosquitto", "influxdb", "kanban-edge", "grafana"} <= set(services)
    assert services["influxdb"]["image"].startswith("influxdb:2")
    named_volumes = set(compose()["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in named_volumes, f"{name} mounts the undeclared volume {source}"
    build = services["kanban-edge"]["build"]
    assert (DOCKER / build["context"] / build["dockerfile"]).is_file()


def test_every_secret_compose_needs_is_listed_in_the_env_example_and_none_has_a_default() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+)", text))
    listed = set(re.findall(r"^([A-Z_]+)=", (DOCKER / ".env.example").read_text(), re.MULTILINE))
    assert needed == listed
    assert not re.search(r"\$\{[A-Z_]+:?-", text), "a secret with a default would start a plant with a known password"


def test_the_docker_plant_passes_check_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANBAN_MQTT_PASSWORD", "from-docker-env")
    monkeypatch.setenv("KANBAN_INFLUX_TOKEN", "from-docker-env")
    for role in ("ADMIN", "VIEWER", "DISPLAY"):
        monkeypatch.setenv(f"KANBAN_KEY_{role}", f"{role.lower()}-key-from-docker-env")
    assert main(["check-config", str(ROOT / "config" / "docker-plant.yaml")]) == 0


def test_the_image_is_slim_runs_as_its_own_user_and_checks_its_health() -> None:
    lines = [line.strip() for line in (DOCKER / "Dockerfile").read_text().splitlines()]
    stages = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert all(image.startswith("python:3.11-slim") for image in stages)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "/healthz" in (DOCKER / "Dockerfile").read_text()
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_broker_configuration_refuses_anonymous_clients_and_admits_the_password_files_user(
    tmp_path: Path,
) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd", "-c", "-b", str(passwd),
                    "kanban-edge", "s3cret-for-test"], check=True, timeout=10)
    passwd.chmod(0o600)
    port = free_port()
    conf = (DOCKER / "mosquitto.conf").read_text()
    conf = (conf.replace("listener 1883", "")  # the fixture's own listener on a free loopback port
            .replace("/mosquitto/auth/passwd", str(passwd)).replace("/mosquitto/data/", f"{tmp_path}/"))
    conf += "user root\n"  # started as root, mosquitto would drop to user mosquitto, who cannot read tmp_path
    broker = start_mosquitto(port, tmp_path, conf)
    try:
        def publish(*login: str) -> int:
            return subprocess.run(["mosquitto_pub", "-p", str(port), "-t", "t", "-m", "x", *login],
                                  capture_output=True, timeout=10, check=False).returncode

        assert publish() != 0
        assert publish("-u", "kanban-edge", "-P", "wrong") != 0
        assert publish("-u", "kanban-edge", "-P", "s3cret-for-test") == 0
    finally:
        broker.terminate()
        broker.wait(timeout=10)


def test_the_dashboard_is_valid_json_on_the_provisioned_datasource_and_covers_the_plant() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    datasource = yaml.safe_load((DOCKER / "grafana/provisioning/datasources/influxdb.yaml").read_text())
    [source] = datasource["datasources"]
    provider = yaml.safe_load((DOCKER / "grafana/provisioning/dashboards/kanban-edge.yaml").read_text())
    mounts = compose()["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert {p["datasource"]["uid"] for p in panels} == {source["uid"]}
    titles = " ".join(p["title"] for p in panels)
    for topic in ("Bin levels", "Signals released", "Signal events", "WIP per station", "Alarms", "Rejected", "Outbox"):
        assert topic in titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
