"""An OPC UA server that takes only signed and encrypted channels and named users: what the poller needs to get in."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asyncua import ua
from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, generate_self_signed_app_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.server import Server
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from config.floor import Plc
from edge.opcua_poller import OpcUaPoller
from tests.conftest import free_port
from tests.edge.opcua_server import OpcUaServer

SERVER_URI = "urn:kanban-edge:test-plc"


def make_certificate(directory: Path, name: str, uri: str, usage: x509.ObjectIdentifier) -> None:
    """`<name>.der` and `<name>.pem` (its key), as an integrator makes them with the PLC's or a CA's tools."""
    key = generate_private_key()
    names = [x509.UniformResourceIdentifier(uri), x509.DNSName(socket.gethostname()), x509.DNSName("localhost")]
    certificate = generate_self_signed_app_certificate(key, name, {}, names, [usage])
    (directory / f"{name}.der").write_bytes(certificate.public_bytes(Encoding.DER))
    (directory / f"{name}.pem").write_bytes(dump_private_key_as_pem(key))


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs")
    make_certificate(directory, "client", "urn:kanban-edge:test-client", ExtendedKeyUsageOID.CLIENT_AUTH)
    make_certificate(directory, "server", SERVER_URI, ExtendedKeyUsageOID.SERVER_AUTH)
    make_certificate(directory, "other", "urn:kanban-edge:other-plc", ExtendedKeyUsageOID.SERVER_AUTH)
    return directory


class Users:
    """The PLC's user list: one user, edge, with its password."""

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        return User(role=UserRole.User, name=username) if (username, password) == ("edge", "s3cret") else None


@pytest.fixture(scope="module")
def server(certs: Path) -> Iterator[OpcUaServer]:
    async def secure(server: Server) -> None:
        await server.set_application_uri(SERVER_URI)
        await server.load_certificate(str(certs / "server.der"))
        await server.load_private_key(str(certs / "server.pem"))
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        server.set_identity_tokens([ua.UserNameIdentityToken])
        server.iserver.set_user_manager(Users())  # type: ignore[arg-type]

    plc = OpcUaServer(free_port(), {"Count": (42, ua.VariantType.UInt32)}, configure=secure)
    plc.start()
    yield plc
    plc.stop()


def first_status(server: OpcUaServer, opcua: dict[str, object]) -> dict[str, Any]:
    """Run a poller with these `opcua` settings until it publishes a status; the values it published, and that."""
    plc = Plc.model_validate({
        "id": "p1", "opcua": {"endpoint": server.endpoint, **opcua}, "timeout_s": 2, "heartbeat_s": 5,
        "points": [{"name": "count", "node": "ns=2;s=Count", "type": "uint32", "counter": {}}],
    })
    published: dict[str, Any] = {}

    async def run() -> None:
        done = asyncio.Event()

        def publish(topic: str, payload: bytes) -> None:
            published[topic.rsplit("/", 1)[1]] = json.loads(payload)
            if "status" in published and ("count" in published or not published["status"]["online"]):
                done.set()

        task = asyncio.create_task(OpcUaPoller(plc=plc, prefix="kanban/t").run(publish))
        try:
            await asyncio.wait_for(done.wait(), 20)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())
    return published


def security(certs: Path, server_certificate: str = "server.der") -> dict[str, object]:
    return {
        "policy": "Basic256Sha256", "mode": "SignAndEncrypt", "certificate": str(certs / "client.der"),
        "private_key": str(certs / "client.pem"), "server_certificate": str(certs / server_certificate),
    }


def test_signed_encrypted_channel_and_user_get_the_values(server: OpcUaServer, certs: Path) -> None:
    published = first_status(server, {"security": security(certs), "user": {"name": "edge", "password": "s3cret"}})
    assert published["count"]["value"] == 42
    assert published["status"]["online"] is True
    assert "error" not in published["status"]


@pytest.mark.parametrize(
    ("opcua", "error"),
    [
        ({"user": {"name": "edge", "password": "s3cret"}}, "No matching endpoints: 1, http://opcfoundation.org/UA/"),
        ({"security": "wrong password", "user": {"name": "edge", "password": "guess"}}, "BadUserAccessDenied"),
        # The server cannot read what was encrypted for another certificate, and does not answer.
        ({"security": "other.der", "user": {"name": "edge", "password": "s3cret"}}, "cannot connect to"),
    ],
    ids=["without security", "wrong password", "another server's certificate"],
)
def test_what_the_server_refuses_is_the_plc_offline(
    server: OpcUaServer, certs: Path, opcua: dict[str, object], error: str
) -> None:
    if opcua.get("security") == "wrong password":
        opcua["security"] = security(certs)
    elif opcua.get("security") == "other.der":
        opcua["security"] = security(certs, "other.der")
    published = first_status(server, opcua)
    assert "count" not in published
    assert published["status"]["online"] is False
    assert error in published["status"]["error"]
    assert "s3cret" not in json.dumps(published)
    assert "guess" not in json.dumps(published)
