"""The shipped ERPNext target (config/erp/erpnext.yaml), from the service process to a stand-in that answers as
ERPNext's REST API does (tests/erp_standins.py): the exact request, the Material Request's name on the signal,
cancelling it, and outages, refusals and lost answers without a duplicate."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PLANT_HEADER, Broker, Gateway, free_port, make_gateway, wait_for
from tests.erp_standins import ErpNext, serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TARGET = (ROOT / "config" / "erp" / "erpnext.yaml").read_text()
FAST = "  - id: erpnext\n    timeout_s: 1\n    retry_initial_s: 0.05\n    retry_max_s: 0.3\n    max_attempts: 50\n"
PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: M8X20, unit_weight_g: 10, supplier: acme}}
  - {{sku: NEW-PART, unit_weight_g: 10, supplier: acme}}
bins:
  - {{id: B1, sku: M8X20, line: L1, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
  - {{id: B2, sku: M8X20, line: L1, station: S2, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
  - {{id: N1, sku: NEW-PART, line: L2, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
""" + TARGET.replace("{", "{{").replace("}", "}}").replace("  - id: erpnext\n", FAST)
DRAIN = [json.dumps({"weight_g": w}) for w in (1500, 1000, 750, 750)]  # 100, 50, 25, 25 pieces


@dataclass
class Plant:
    gateway: Gateway
    erp: ErpNext
    broker: Broker

    def drain(self, bin_id: str) -> None:
        self.broker.publish_many(f"{self.gateway.prefix}/scale/{bin_id}", DRAIN)

    def signal(self, bin_id: str) -> dict[str, Any]:
        found = self.gateway.get(f"/api/v1/signals?loop={bin_id}").json()["signals"]
        assert found, f"no signal of {bin_id}"
        return dict(found[0])

    def deliveries(self, query: str) -> list[dict[str, Any]]:
        return list(self.gateway.get(f"/api/v1/deliveries?target=erpnext&{query}").json()["deliveries"])


def start(broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, name: str) -> Gateway:
    for var, value in {"ERPNEXT_URL": url, "ERPNEXT_API_KEY": "key", "ERPNEXT_API_SECRET": "secret",
                       "ERPNEXT_COMPANY": "ACME Manufacturing", "ERPNEXT_WAREHOUSE": "Stores - AM"}.items():
        monkeypatch.setenv(var, value)
    gw = make_gateway(tmp_path, broker.port, name, PLANT)
    gw.start()
    return gw


@pytest.fixture
def plant(broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
          ) -> Iterator[Plant]:
    erp = ErpNext()
    with serving(erp) as url:
        gw = start(broker, tmp_path, monkeypatch, url, request.node.nodeid)
        try:
            yield Plant(gw, erp, broker)
        finally:
            gw.stop()


def test_a_released_signal_becomes_a_submitted_material_request_and_its_cancel_cancels_it(plant: Plant) -> None:
    plant.drain("B1")
    wait_for(lambda: plant.erp.documents, what="a Material Request in ERPNext")
    signal = wait_for(lambda: (s := plant.signal("B1"))["documents"] and s, what="the document on the signal")
    assert isinstance(signal, dict)
    [find, create] = plant.erp.requests()
    assert (find.method, find.path.split("?")[0]) == ("GET", "/api/resource/Material%20Request")
    assert find.query == {"filters": f'[["custom_kanban_signal", "=", "{signal["id"]}"]]', "fields": '["name"]'}
    assert (create.method, create.path) == ("POST", "/api/resource/Material%20Request")
    assert create.headers["Authorization"] == "token key:secret"
    assert create.headers["Content-Type"] == "application/json"
    released, due = signal["released_at"][:10], plant.erp.documents["MAT-MR-2026-00001"]["schedule_date"]
    assert create.body == {
        "material_request_type": "Purchase", "company": "ACME Manufacturing", "transaction_date": released,
        "schedule_date": due, "set_warehouse": "Stores - AM", "custom_kanban_signal": signal["id"], "docstatus": 1,
        "items": [{"item_code": "M8X20", "qty": 100, "schedule_date": due, "warehouse": "Stores - AM"}],
    }
    assert due > released  # the supplier's lead time: 24 h
    [document] = signal["documents"]
    assert (document["target"], document["document_id"], document["cancelled_at"]) == (
        "erpnext", "MAT-MR-2026-00001", None)
    assert "M8X20 · card 1 · <span class=\"age\"></span> · MAT-MR-2026-00001</li>" in plant.gateway.get("/andon").text

    answer = httpx.post(f"{plant.gateway.api}/api/v1/signals/{signal['id']}/cancel", json={}, timeout=5)
    assert answer.status_code == 200
    wait_for(lambda: plant.signal("B1")["documents"][0]["cancelled_at"], what="the document cancelled")
    cancel = plant.erp.requests("POST", "/api/method/")[-1]
    assert cancel.path == "/api/method/frappe.client.cancel"
    assert cancel.body == {"doctype": "Material Request", "name": "MAT-MR-2026-00001"}
    assert plant.erp.documents["MAT-MR-2026-00001"]["status"] == "Cancelled"
    assert [d["status"] for d in plant.deliveries("status=all")] == ["delivered", "delivered"]


def test_erpnext_refusals_are_dead_lettered_with_its_text_and_the_next_signals_go_on(plant: Plant) -> None:
    plant.drain("N1")  # an item ERPNext does not know
    [dead] = wait_for(lambda: plant.deliveries("status=dead"), what="the refusal dead-lettered")  # type: ignore[misc]
    assert dead["attempts"] == 1
    assert dead["last_error"] == (
        "HTTP 417: frappe.exceptions.ValidationError: Row #1: Item Code: NEW-PART not found")
    assert plant.signal("N1")["documents"] == []

    plant.drain("B1")
    wait_for(lambda: plant.signal("B1")["documents"], what="the next signal's Material Request")
    plant.erp.linked.add("MAT-MR-2026-00001")  # purchasing already ordered it: ERPNext refuses to cancel
    httpx.post(f"{plant.gateway.api}/api/v1/signals/{plant.signal('B1')['id']}/cancel", json={}, timeout=5)
    wait_for(lambda: len(plant.deliveries("status=dead")) == 2, what="the refused cancel dead-lettered")
    assert "LinkExistsError: Cannot cancel MAT-MR-2026-00001" in plant.deliveries("status=dead")[0]["last_error"]
    assert plant.signal("B1")["documents"][0]["cancelled_at"] is None


def test_an_outage_a_kill_and_a_lost_answer_make_each_material_request_once_and_in_order(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    port = free_port()  # nothing listens there yet: ERPNext is down
    gw = start(broker, tmp_path, monkeypatch, f"http://127.0.0.1:{port}", request.node.nodeid)
    try:
        plant = Plant(gw, ErpNext(), broker)
        plant.drain("B1")
        plant.drain("B2")

        def both_waiting() -> bool:
            waiting = plant.deliveries("status=pending")
            return len(waiting) == 2 and waiting[1]["attempts"] >= 2 and "ConnectError" in waiting[1]["last_error"]

        wait_for(both_waiting, what="both deliveries failing while ERPNext is down")
        assert plant.deliveries("status=pending")[0]["attempts"] == 0  # the second waits behind the first
        assert gw.kill(signal.SIGKILL) == -signal.SIGKILL  # and the edge dies meanwhile
        gw.start()
        # Back behind a proxy that fails once; then an answer goes missing, and the document it made shows in
        # searches only after the retry's create, which ERPNext refuses (the Kanban Signal field is unique).
        plant.erp.script = ["503", "ok", "late"]
        with serving(plant.erp, port):
            wait_for(lambda: plant.signal("B2")["documents"], timeout_s=30, what="both Material Requests")
        made = {d["custom_kanban_signal"]: name for name, d in plant.erp.documents.items()}
        assert made == {plant.signal("B1")["id"]: "MAT-MR-2026-00001", plant.signal("B2")["id"]: "MAT-MR-2026-00002"}
        assert plant.signal("B1")["documents"][0]["document_id"] == "MAT-MR-2026-00001"
        creates = plant.erp.requests("POST")
        assert len(creates) == 3  # the refused one found the first instead of making another, then B2's
        assert [d["status"] for d in plant.deliveries("status=all")] == ["delivered", "delivered"]
    finally:
        gw.stop()


def test_erpnext_moves_the_signal_on_by_its_material_request(plant: Plant) -> None:
    plant.drain("B1")
    plant.drain("B2")
    wait_for(lambda: plant.signal("B2")["documents"] and plant.signal("B1")["documents"], what="two documents")
    b1, b2 = plant.signal("B1"), plant.signal("B2")
    [mr1], [mr2] = ([d["document_id"] for d in s["documents"]] for s in (b1, b2))

    def update(body: dict[str, Any], target: str = "erpnext") -> httpx.Response:
        return httpx.post(f"{plant.gateway.api}/api/v1/targets/{target}/updates", json=body, timeout=5)

    acknowledged = update({"document_id": mr1, "action": "acknowledge"})
    assert acknowledged.status_code == 200
    assert (acknowledged.json()["id"], acknowledged.json()["status"]) == (b1["id"], "acknowledged")
    shipped = update({"document_id": mr1, "action": "ship", "asn": "PUR-REC-0007", "quantity": 100}).json()
    assert (shipped["status"], shipped["asn"], shipped["transitions"][-1]["by"]) == ("shipped", "PUR-REC-0007",
                                                                                   "erpnext")
    assert update({"document_id": mr1, "action": "cancel"}).json()["error"]["code"] == "illegal_transition"
    assert update({"document_id": "MAT-MR-0000", "action": "receive"}).status_code == 404
    assert update({"document_id": mr1, "action": "receive"}, target="odoo").status_code == 404

    cancelled = update({"document_id": mr2, "action": "cancel"}).json()  # cancelled in ERPNext itself
    assert cancelled["status"] == "cancelled"
    assert cancelled["documents"][0]["cancelled_at"] is not None
    plant.drain("N1")  # its signal is fanned out after the cancellation would have been
    wait_for(lambda: len(plant.deliveries("status=all")) == 3, what="the next signal's delivery")
    assert [d["type"] for d in plant.deliveries("status=all")] == ["signal_released"] * 3
    assert plant.erp.requests("POST", "/api/method/") == []  # not sent back to ERPNext to cancel again
