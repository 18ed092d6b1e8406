"""Real servers for the scale-out tests, configured from the examples in docs/scale-out/: a central cluster of
three NATS nodes (JetStream, MQTT listener with TLS), edge mosquitto brokers bridged to it, and a WAN link
between them that the test can cut.

The WAN link is a stand-in for the network, not for a server: a TCP relay per central node that, when cut,
resets every connection through it and refuses new ones, as a failed WAN router does to a bridge.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port, start_mosquitto, wait_for

EXAMPLES = ROOT / "docs" / "scale-out"


def render(text: str, replacements: dict[str, str]) -> str:
    """An example file with the values the test runs with; every value replaced must be in it."""
    for old, new in replacements.items():
        assert old in text, f"{old!r} is no longer in the example: update the test with it"
        text = text.replace(old, new)
    return text


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        pytest.fail(f"{name} is not installed: run `make test` (scripts/system-deps.sh installs it)")
    return found


@dataclass(frozen=True)
class Tls:
    """A certificate authority and a certificate for the central nodes, valid for localhost and 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path


def make_tls(directory: Path) -> Tls:
    """Made with the openssl command, as an operator would."""
    ca, ca_key, cert, key, csr = (directory / n for n in ("ca.pem", "ca-key.pem", "central.pem", "central-key.pem",
                                                          "central.csr"))
    openssl = _binary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=60)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kanban-test-ca",
        "-keyout", str(ca_key), "-out", str(ca))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=central", "-keyout", str(key), "-out", str(csr))
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-days", "2",
        "-extfile", str(ext), "-out", str(cert))
    return Tls(ca, cert, key)


@dataclass
class NatsNode:
    """One node of the central cluster."""

    name: str
    conf: Path
    mqtt_port: int
    http_port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        log = self.conf.with_suffix(".log").open("ab")
        self.proc = subprocess.Popen([_binary("nats-server"), "-c", str(self.conf)], env=env, stdout=log,
                                     stderr=subprocess.STDOUT)

    def healthy(self) -> bool:
        """JetStream is up and this node's copies of the streams are current."""
        return self._healthz("")

    def rejoined(self) -> bool:
        """Back in the cluster's JetStream after a restart. (Its /healthz kept reporting the MQTT retained-message
        consumers of its previous run as not current, for at least a minute.)"""
        return self._healthz("?js-server-only=true")

    def _healthz(self, query: str) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.http_port}/healthz{query}", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)


@dataclass
class CentralCluster:
    """Three NATS nodes from docs/scale-out/central-nats.conf, each on its own loopback ports."""

    nodes: list[NatsNode]
    env: dict[str, str]

    @classmethod
    def create(cls, directory: Path, tls: Tls, sites: dict[str, str], env: dict[str, str]) -> CentralCluster:
        """`sites` maps the example's site ids (plant-7, plant-9) to the test's."""
        example = (EXAMPLES / "central-nats.conf").read_text()
        routes = [free_port() for _ in range(3)]
        nodes = []
        for i in range(3):
            mqtt, http = free_port(), free_port()
            conf = directory / f"central-{i + 1}.conf"
            conf.write_text(render(example, {
                "server_name: central-1": f"server_name: central-{i + 1}",
                "listen: 127.0.0.1:4222": f"listen: 127.0.0.1:{free_port()}",
                "http: 127.0.0.1:8222": f"http: 127.0.0.1:{http}",
                "/var/lib/nats/jetstream": str(directory / f"jetstream-{i + 1}"),
                "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{routes[i]}",
                **{f"central-{n + 1}.example:6222": f"127.0.0.1:{routes[n]}" for n in range(3)},
                "listen: 0.0.0.0:8883": f"listen: 127.0.0.1:{mqtt}",
                "/etc/nats/central.pem": str(tls.cert),
                "/etc/nats/central-key.pem": str(tls.key),
                **{f"kanban.{example_site}.>": f"kanban.{site}.>" for example_site, site in sites.items()},
                **{f"user: {example_site},": f"user: {site}," for example_site, site in sites.items()},
            }))
            nodes.append(NatsNode(f"central-{i + 1}", conf, mqtt, http))
        return cls(nodes, env)

    def start(self) -> None:
        for node in self.nodes:
            node.start(self.env)
        wait_for(lambda: all(node.healthy() for node in self.nodes), timeout_s=60, what="the central cluster")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


@dataclass
class WanLink:
    """TCP relays from an edge to each central node; `cut()` is a WAN outage, `restore()` its end.

    While cut, connections through it are reset and new ones refused, as by a WAN router with no route. (A link
    that accepted connections and closed them at once would hang mosquitto 2.0.11's TLS bridge at 100 % CPU:
    docs/SCALE-OUT.md, "Failures".)"""

    targets: list[int]
    ports: list[int] = field(default_factory=list)
    down: set[int] = field(default_factory=set)  # nodes that are down: refused as a host that is off would be
    _listeners: dict[int, socket.socket] = field(default_factory=dict)
    _sockets: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ports = [free_port() for _ in self.targets]
        self.restore()

    def cut(self) -> None:
        with self._lock:
            for sock in [*self._listeners.values(), *self._sockets]:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._listeners, self._sockets = {}, set()

    def restore(self) -> None:
        """Carry connections again, to every node not marked down (and not carried already)."""
        for index, (port, target) in enumerate(zip(self.ports, self.targets, strict=True)):
            if index in self.down or index in self._listeners:
                continue
            listener = socket.create_server(("127.0.0.1", port))
            self._listeners[index] = listener
            threading.Thread(target=self._accept, args=(listener, target), daemon=True).start()

    def close(self) -> None:
        self.cut()

    def _accept(self, listener: socket.socket, target: int) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", target), timeout=2)
            except OSError:  # a node stopped without being marked down
                conn.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets |= {conn, upstream}
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            self._sockets.discard(src)


def start_edge_broker(
    directory: Path, port: int, *, site: str, wan: WanLink, tls: Tls, password: str, restart_timeout: str
) -> subprocess.Popen[bytes]:
    """An edge's mosquitto from docs/scale-out/edge-mosquitto.conf, bridged through `wan` to the cluster.

    The plant side is anonymous on loopback here (the local ACL is docker/mosquitto.conf's, tested elsewhere);
    `restart_timeout` keeps the bridge's reconnect backoff short enough for a test."""
    directory.mkdir(parents=True, exist_ok=True)
    text = render((EXAMPLES / "edge-mosquitto.conf").read_text(), {
        "listener 1883\n": "",
        "allow_anonymous false\npassword_file /etc/mosquitto/passwd\nacl_file /etc/mosquitto/acl\n":
            # mosquitto started as root runs as user mosquitto, which may not read the test's files.
            f"allow_anonymous true\nuser {pwd.getpwuid(os.getuid()).pw_name}\n"
            f"log_dest file {directory / 'mosquitto.log'}\n",
        "/var/lib/mosquitto/": f"{directory}/",
        # By name: mosquitto checks the certificate's host name, and would not match an IP address against it.
        **{f"central-{n + 1}.example:8883": f"localhost:{wan.ports[n]}" for n in range(3)},
        "change-me-plant-7": password,
        "plant-7": site,
        "/etc/mosquitto/central-ca.pem": str(tls.ca),
        "restart_timeout 2 30": f"restart_timeout {restart_timeout}",
    })
    return start_mosquitto(port, directory, text)
