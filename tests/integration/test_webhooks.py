"""Supplier webhooks from the service process to a real HTTP server that verifies and de-duplicates."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Broker, Gateway, make_gateway, wait_for

pytestmark = pytest.mark.integration

SECRET = "test-secret-0123456789"
PLANT = """
site: {site}
mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}
storage: {{path: "{db}", snapshot_interval_s: 0.5}}
api: {{host: 127.0.0.1, port: {api_port}, public_url: "https://edge.example"}}
suppliers:
  - id: acme
    name: ACME
    lead_time_h: 24
    webhook:
      url: "{acme_url}"
      secret: {secret}
      events: [signal_released, signal_received]
      timeout_s: 0.5
      max_attempts: {max_attempts}
      retry_initial_s: 0.05
      retry_max_s: 0.3
  - id: slowco
    name: Slow Co
    lead_time_h: 2
    webhook: {{url: "{slow_url}", secret: {secret}, timeout_s: 30}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
  - {{sku: NUT, unit_weight_g: 10, supplier: slowco}}
bins:
  - {{id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, reset_point: 60,
     scale: {{tare_g: 500}}}}
  - {{id: B2, sku: BOLT, line: L1, station: S2, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
  - {{id: N1, sku: NUT, line: L2, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
"""
DRAIN = [json.dumps({"weight_g": w}) for w in (1500, 1000, 750, 750)]  # 100, 50, 25, 25 pieces
REFILL = [json.dumps({"weight_g": 1500})] * 2


@dataclass
class Receiver:
    """A supplier's endpoint: checks the signature, accepts each Idempotency-Key once.

    `script` answers the first requests: "500", or "hang": wait until the sender gave up and tried again
    (or `release` is set), then accept the event and answer 200 to nobody. Later requests get 200.
    """

    script: list[str] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    requests: int = 0
    bad_signatures: int = 0
    hanging: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        expected = hmac.new(SECRET.encode(), headers["X-Kanban-Timestamp"].encode() + b"." + body, hashlib.sha256)
        with self.changed:
            self.requests += 1
            number = self.requests
            self.changed.notify_all()
            # A retry is handled only after the hanging attempt before it has accepted its event.
            self.changed.wait_for(lambda: self.hanging == 0, timeout=30)
            step = self.script.pop(0) if self.script else "ok"
            if not hmac.compare_digest("sha256=" + expected.hexdigest(), headers["X-Kanban-Signature"]):
                self.bad_signatures += 1
                return 401
            if step == "500":
                return 500
            if step == "hang":
                self.hanging += 1
                self.changed.wait_for(lambda: self.requests > number or self.release.is_set(), timeout=30)
                self.hanging -= 1
                self.changed.notify_all()
            key = headers["Idempotency-Key"]
            if key in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[key] = json.loads(body)
        return 200


def serve(receiver: Receiver) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/kanban"


@dataclass
class Plant:
    gateway: Gateway
    acme: Receiver
    slow: Receiver
    broker: Broker

    def publish(self, bin_id: str, readings: list[str]) -> None:
        self.broker.publish_many(f"{self.gateway.prefix}/scale/{bin_id}", readings)

    def deliveries(self, query: str = "") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.gateway.get(f"/api/v1/deliveries{query}").json()["deliveries"]
        return found


def make_plant(broker: Broker, tmp_path: Path, name: str, *, max_attempts: int = 50) -> Iterator[Plant]:
    acme, slow = Receiver(), Receiver(script=["hang"] * 100)
    servers = [serve(acme), serve(slow)]
    gw = make_gateway(tmp_path, broker.port, name, PLANT, acme_url=servers[0][1], slow_url=servers[1][1],
                      secret=SECRET, max_attempts=max_attempts)
    try:
        gw.start()
        yield Plant(gw, acme, slow, broker)
    finally:
        with slow.changed:
            slow.release.set()
            slow.changed.notify_all()
        gw.stop()
        for server, _ in servers:
            server.shutdown()


@pytest.fixture
def plant(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Plant]:
    """The service with two suppliers' endpoints; parametrize indirectly to set acme's max_attempts."""
    yield from make_plant(broker, tmp_path, request.node.nodeid, max_attempts=getattr(request, "param", 50))


def test_signed_delivery_with_idempotency_key_and_documented_body(plant: Plant) -> None:
    plant.publish("B1", DRAIN)

    wait_for(lambda: plant.acme.accepted, what="a webhook at the supplier")
    [(key, body)] = plant.acme.accepted.items()
    signal_id = plant.gateway.get("/api/v1/signals?status=open").json()["signals"][0]["id"]
    assert key == body["event_id"] == f"{plant.gateway.prefix.split('/')[1]}:{body['event']['seq']}"
    assert plant.acme.bad_signatures == 0
    assert body["schema"] == "kanban-edge.webhook.v1"
    assert (body["type"], body["loop"], body["signal_id"], body["sku"], body["quantity"]) == (
        "signal_released", "B1", signal_id, "BOLT", 100
    )
    assert body["due_by"][:10] > body["time"][:10]  # 24 h lead time
    assert body["links"]["signal"] == f"https://edge.example/api/v1/signals/{signal_id}"
    delivered = wait_for(lambda: plant.deliveries("?status=delivered"), what="the delivery to be marked")
    assert [(d["supplier"], d["event_id"], d["attempts"]) for d in delivered] == [("acme", key, 0)]  # type: ignore[union-attr]


def test_supplier_failing_then_timing_out_then_recovering_gets_each_event_once(plant: Plant) -> None:
    plant.acme.script = ["500", "500", "hang", "500"]
    plant.publish("B1", DRAIN)
    plant.publish("B2", DRAIN)
    plant.publish("B1", REFILL)

    wait_for(lambda: len(plant.acme.accepted) == 3, timeout_s=30, what="three events accepted")
    wait_for(lambda: len(plant.deliveries("?status=delivered")) == 3, what="three deliveries marked delivered")
    types = sorted(b["type"] for b in plant.acme.accepted.values())
    assert types[1:] == ["signal_released", "signal_released"]
    assert types[0] == "signal_received"  # the refill
    assert plant.acme.duplicates >= 1  # the timed-out attempt was accepted, and its retry recognised
    assert plant.acme.requests >= 3 + 4
    assert plant.deliveries("?status=pending") == plant.deliveries("?status=dead") == []


def test_a_hanging_supplier_delays_neither_rules_nor_other_suppliers(plant: Plant) -> None:
    plant.publish("N1", DRAIN)  # slowco's endpoint holds this request
    wait_for(lambda: plant.slow.requests == 1, what="the slow supplier to be called")
    plant.publish("B1", DRAIN)

    wait_for(lambda: plant.acme.accepted, what="the other supplier's delivery")
    assert plant.slow.accepted == {}
    opened = plant.gateway.get("/api/v1/signals?status=open").json()["signals"]
    assert sorted(s["bin_id"] for s in opened) == ["B1", "N1"]


@pytest.mark.parametrize("plant", [2], indirect=True)
def test_dead_lettered_delivery_is_sent_again_on_request(plant: Plant) -> None:
    plant.acme.script = ["500", "500"]
    plant.publish("B1", DRAIN)
    [dead] = wait_for(lambda: plant.deliveries("?status=dead"), what="a dead letter")  # type: ignore[misc]
    assert (dead["attempts"], dead["last_error"]) == (2, "HTTP 500: ")
    assert plant.acme.accepted == {}

    answer = plant.gateway.post(f"/api/v1/deliveries/{dead['id']}/retry")
    assert answer.status_code == 200
    wait_for(lambda: plant.acme.accepted, what="the retried delivery")
    assert [d["id"] for d in plant.deliveries("?status=delivered")] == [dead["id"]]
    missing = plant.gateway.post("/api/v1/deliveries/999/retry")
    assert missing.status_code == 404


def test_sigkill_while_outbox_holds_items_loses_nothing(plant: Plant) -> None:
    plant.acme.script = ["500"] * 10_000
    plant.publish("B1", DRAIN)
    plant.publish("B2", DRAIN)

    def failed_both() -> list[dict[str, Any]] | None:
        pending = plant.deliveries("?status=pending")
        return pending if len(pending) == 2 and all(d["attempts"] >= 1 for d in pending) else None

    pending = wait_for(failed_both, what="two pending deliveries that failed")
    keys = sorted(d["event_id"] for d in pending)  # type: ignore[union-attr]
    assert plant.gateway.kill(signal.SIGKILL) == -signal.SIGKILL

    plant.acme.script = []
    plant.gateway.start()
    wait_for(lambda: len(plant.acme.accepted) == 2, what="both events after the restart")
    assert sorted(plant.acme.accepted) == keys
    assert len(plant.deliveries()) == 2
