"""Broker credentials come from the plant file, the password from the environment."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port, make_gateway, start_mosquitto, wait_for

pytestmark = pytest.mark.integration


def test_service_logs_in_with_a_password_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "kanban", "s3cret!"], check=True)
    # `user root`: a broker started as root would otherwise drop to user mosquitto, who cannot read tmp_path.
    broker = start_mosquitto(port, tmp_path, f"allow_anonymous false\npassword_file {passwords}\nuser root\n")
    gw = make_gateway(tmp_path, port, "auth")
    text = gw.config.read_text().replace(
        f'url: "mqtt://127.0.0.1:{port}"', f'url: "mqtt://127.0.0.1:{port}", username: kanban, password: "${{MQTT_PW}}"'
    )
    gw.config.write_text(text)
    try:
        monkeypatch.setenv("MQTT_PW", "wrong")
        gw.start(wait_healthy=False)
        refused = wait_for(gw.health, what="the API while the broker refuses the login")
        assert refused.json()["broker_connected"] is False  # type: ignore[union-attr]
        gw.kill(signal.SIGTERM)

        monkeypatch.setenv("MQTT_PW", "s3cret!")
        assert os.environ["MQTT_PW"] == "s3cret!"
        gw.start()  # waits for /healthz 200: connected with the right password
    finally:
        gw.stop()
        broker.terminate()
        broker.wait(timeout=10)
