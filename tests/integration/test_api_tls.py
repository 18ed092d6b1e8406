"""The API over HTTPS, for a plant without a reverse proxy in front: the plant file names a certificate and its
key, and the service serves nothing in the clear."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import PLANT, Broker, make_gateway, wait_for

pytestmark = pytest.mark.integration


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as a plant's IT would issue one (here: made by openssl)."""
    cert, key = directory / "api.crt", directory / "api.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_the_api_answers_over_https_and_not_in_the_clear(broker: Broker, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    tls = 'tls: {{cert_file: "{cert}", key_file: "{key}"}}'
    template = PLANT.replace("api: {{host: 127.0.0.1, port: {api_port}}}",
                             f"api: {{{{host: 127.0.0.1, port: {{api_port}}, {tls}}}}}")
    gw = make_gateway(tmp_path, broker.port, "api-tls", template, cert=cert, key=key)
    https = gw.api.replace("http://", "https://")
    trusted = ssl.create_default_context(cafile=str(cert))
    gw.start(wait_healthy=False)
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{https}/healthz", verify=trusted, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout_s=20, what="the service to answer over HTTPS")
        assert httpx.get(f"{https}/api/v1/bins", verify=trusted, timeout=5).json()["count"] == 2
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{gw.api}/api/v1/bins", timeout=5)  # plain HTTP to the TLS port
    finally:
        gw.stop()
