"""The shipped Odoo targets (config/erp/odoo-*.yaml), from the service process to a stand-in that answers as
Odoo's JSON-RPC and web-session endpoints do (tests/erp_standins.py): purchase orders with an API key, stock
requests over a session that expires, and Odoo's refusals, which come inside 200 answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, wait_for
from tests.erp_standins import Odoo, serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FAST = "  - id: odoo\n    timeout_s: 2\n    retry_initial_s: 0.05\n    retry_max_s: 0.3\n    max_attempts: 50\n"
PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: M8X20, description: Hex bolt M8x20, unit_weight_g: 10, supplier: acme}}
bins:
  - {{id: B1, sku: M8X20, line: L1, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
"""
DRAIN = [json.dumps({"weight_g": w}) for w in (1500, 1000, 750, 750)]  # 100, 50, 25, 25 pieces


def target(name: str) -> str:
    text = (ROOT / "config" / "erp" / f"{name}.yaml").read_text()
    return text.replace("{", "{{").replace("}", "}}").replace("  - id: odoo\n", FAST)


@contextmanager
def running(broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, odoo: Odoo,
            shipped: str) -> Iterator[Gateway]:
    with serving(odoo) as url:
        for var, value in {"ODOO_URL": url, "ODOO_DATABASE": "plant", "ODOO_LOGIN": "kanban",
                           "ODOO_API_KEY": "k3y", "ODOO_PASSWORD": "k3y"}.items():
            monkeypatch.setenv(var, value)
        gw = make_gateway(tmp_path, broker.port, name, PLANT + target(shipped))
        gw.start()
        try:
            yield gw
        finally:
            gw.stop()


def drain(broker: Broker, gw: Gateway) -> dict[str, Any]:
    broker.publish_many(f"{gw.prefix}/scale/B1", DRAIN)
    found = wait_for(lambda: gw.get("/api/v1/signals?loop=B1").json()["signals"], what="a signal")
    return dict(found[0])  # type: ignore[index]


def documents(gw: Gateway, signal_id: str) -> list[dict[str, Any]]:
    return list(gw.get(f"/api/v1/signals/{signal_id}").json()["documents"])


def deliveries(gw: Gateway, status: str) -> list[dict[str, Any]]:
    return list(gw.get(f"/api/v1/deliveries?target=odoo&status={status}").json()["deliveries"])


def rpc(service: str, method: str, args: list[Any], request_id: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "call", "id": request_id,
            "params": {"service": service, "method": method, "args": args}}


def test_a_released_signal_becomes_a_purchase_order_with_an_api_key_and_its_cancel_cancels_it(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    odoo = Odoo()
    with running(broker, tmp_path, monkeypatch, request.node.nodeid, odoo, "odoo-purchase") as gw:
        signal = drain(broker, gw)
        wait_for(lambda: documents(gw, signal["id"]), what="the order's id on the signal")
        [login, find, create] = odoo.requests()
        assert {r.path for r in (login, find, create)} == {"/jsonrpc"}
        assert login.body == rpc("common", "login", ["plant", "kanban", "k3y"], 1)
        auth = ["plant", 2, "k3y"]
        assert find.body == rpc("object", "execute_kw", [
            *auth, "purchase.order", "search", [[["origin", "=", signal["id"]]]], {"limit": 1}], 2)
        line = create.body["params"]["args"][5][0]["order_line"][0][2]
        assert create.body == rpc("object", "execute_kw", [*auth, "purchase.order", "create", [{
            "partner_id": 7, "origin": signal["id"],
            "order_line": [[0, 0, {"product_id": 41, "name": "Hex bolt M8x20", "product_qty": 100,
                                   "date_planned": line["date_planned"]}]],
        }]], 3)
        assert line["date_planned"][:10] > signal["released_at"][:10]  # a day's lead time
        assert create.headers["Content-Type"] == "application/json"
        [document] = documents(gw, signal["id"])
        assert (document["target"], document["document_id"]) == ("odoo", "42")

        assert httpx.post(f"{gw.api}/api/v1/signals/{signal['id']}/cancel", json={}, timeout=5).status_code == 200
        wait_for(lambda: documents(gw, signal["id"])[0]["cancelled_at"], what="the order cancelled")
        cancel = odoo.requests()[-1]
        assert cancel.body == rpc("object", "execute_kw", [*auth, "purchase.order", "button_cancel", [[42]]], 4)
        assert odoo.records["purchase.order"][42]["state"] == "cancel"


def test_odoo_refusals_inside_200_answers_are_dead_lettered_and_a_refused_login_is_retried(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    odoo = Odoo(products=set(), key="another-key")  # the key was revoked; product 41 was deleted
    with running(broker, tmp_path, monkeypatch, request.node.nodeid, odoo, "odoo-purchase") as gw:
        signal = drain(broker, gw)

        def login_refused() -> bool:
            waiting = deliveries(gw, "pending")
            return bool(waiting) and waiting[0]["attempts"] >= 2

        wait_for(login_refused, what="the login refused, and tried again")
        assert deliveries(gw, "pending")[0]["last_error"] == (
            'login: the answer gives no uid: {"jsonrpc": "2.0", "id": 1, "result": false}')
        odoo.key = "k3y"  # a new key is in place
        [dead] = wait_for(lambda: deliveries(gw, "dead"), what="the refused order dead-lettered")  # type: ignore[misc]
        assert dead["last_error"] == "Record does not exist or has been deleted. (Record: product.product(41,))"
        assert documents(gw, signal["id"]) == []
        assert odoo.records["purchase.order"] == {}


def test_a_stock_request_over_a_session_that_expires_and_an_outage_in_between(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    odoo = Odoo(script=["503"])  # Odoo is restarting when the first request comes
    with running(broker, tmp_path, monkeypatch, request.node.nodeid, odoo, "odoo-stock-request") as gw:
        signal = drain(broker, gw)
        wait_for(lambda: documents(gw, signal["id"]), what="the stock request's id on the signal")
        sent = [(r.path, r.headers.get("Cookie")) for r in odoo.requests()]
        assert sent == [
            ("/web/session/authenticate", None),  # 503
            ("/web/session/authenticate", None),
            ("/web/dataset/call_kw/stock.request/search", "session_id=s1"),
            ("/web/dataset/call_kw/stock.request/create", "session_id=s1"),
        ]
        assert odoo.requests()[1].body["params"] == {"db": "plant", "login": "kanban", "password": "k3y"}
        create = odoo.requests()[-1].body["params"]
        assert create == {"model": "stock.request", "method": "create", "kwargs": {}, "args": [{
            "name": signal["id"], "product_id": 41, "product_uom_id": 1, "product_uom_qty": 100,
            "warehouse_id": 1, "location_id": 8}]}
        assert documents(gw, signal["id"])[0]["document_id"] == "42"

        odoo.expire_sessions()  # Odoo was restarted without its sessions
        assert httpx.post(f"{gw.api}/api/v1/signals/{signal['id']}/cancel", json={}, timeout=5).status_code == 200
        wait_for(lambda: documents(gw, signal["id"])[0]["cancelled_at"], what="the stock request cancelled")
        sent = [(r.path, r.headers.get("Cookie")) for r in odoo.requests()[4:]]
        assert sent == [
            ("/web/dataset/call_kw/stock.request/action_cancel", "session_id=s1"),  # expired
            ("/web/session/authenticate", None),
            ("/web/dataset/call_kw/stock.request/action_cancel", "session_id=s2"),
        ]
        assert odoo.records["stock.request"][42]["state"] == "cancel"
