"""Stand-ins for ERPNext and Odoo: small HTTP servers that answer as those ERPs' published APIs do.

Neither ERP can run here (ERPNext needs Frappe's bench with MariaDB and Redis, Odoo a PostgreSQL server and its
own installation, neither is a Debian or PyPI package), so these play the part of the documented endpoints the
delivery targets in config/erp/ call, keep what they were sent, and answer with the ERP's success and error
shapes:

- ERPNext (Frappe REST API): `GET/POST /api/resource/Material Request`, `POST /api/method/frappe.client.cancel`,
  `Authorization: token <key>:<secret>`; errors are `{"exception": "...", "exc_type": "..."}` with Frappe's status
  (401 AuthenticationError, 404 DoesNotExistError, 417 ValidationError and LinkExistsError).
- Odoo: `POST /jsonrpc` (services common.login and object.execute_kw, an API key for the password) and
  `POST /web/session/authenticate` + `POST /web/dataset/call_kw/<model>/<method>` (a `session_id` cookie); every
  answer is a 200 JSON-RPC envelope, errors as `{"error": {"code": 200, "message": "Odoo Server Error",
  "data": {"name": "odoo.exceptions....", "message": "..."}}}`, an expired session as code 100.

`script` forces the next answers: "503" (the ERP's proxy says the ERP is down), "lost" (the ERP does the work
but its answer never arrives: it holds it until the client gave up) or "late" (as "lost", and the document stays
out of the next two searches, as a transaction that commits after the client's next search would).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Received:
    """One request as the ERP received it."""

    method: str
    path: str  # as sent, before any decoding: `/api/resource/Material%20Request`
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Answer:
    status: int
    body: Any
    cookie: str | None = None


@dataclass
class StandIn:
    """What both stand-ins share: the requests received, the forced answers, a lock."""

    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)
    unseen: int = 0  # searches the last document made stays out of ("late")

    def handle(self, request: Received) -> Answer:
        with self.lock:
            self.received.append(request)
            step = self.script.pop(0) if self.script else "ok"
            if step == "503":
                return Answer(503, {"message": "Service Unavailable"})
            answer = self.answer(request)
            if step == "late":
                self.unseen = 2
        if step in ("lost", "late"):
            self.release.wait(timeout=30)  # the client gives up first; the work is done all the same
        return answer

    def answer(self, request: Received) -> Answer:
        raise NotImplementedError

    def requests(self, method: str | None = None, path_start: str = "") -> list[Received]:
        with self.lock:
            return [r for r in self.received
                    if (method is None or r.method == method) and r.path.startswith(path_start)]


@dataclass
class ErpNext(StandIn):
    """ERPNext's REST API for Material Requests, with a `custom_kanban_signal` custom field (Data, Unique)."""

    token: str = "token key:secret"
    items: set[str] = field(default_factory=lambda: {"M8X20"})
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    linked: set[str] = field(default_factory=set)  # Material Requests a Purchase Order was made from

    def answer(self, request: Received) -> Answer:
        if request.headers.get("Authorization") != self.token:
            return _frappe(401, "AuthenticationError", "frappe.exceptions.AuthenticationError")
        path = unquote(request.path.split("?")[0])
        if path == "/api/resource/Material Request" and request.method == "GET":
            _, _, value = json.loads(request.query["filters"])[0]
            names = [{"name": n} for n, d in self.documents.items() if d.get("custom_kanban_signal") == value]
            if self.unseen:
                self.unseen -= 1
                names = names[:-1] if names and names[-1]["name"] == list(self.documents)[-1] else names
            return Answer(200, {"data": names})
        if path == "/api/resource/Material Request" and request.method == "POST":
            return self._create(request.body)
        if path == "/api/method/frappe.client.cancel" and request.method == "POST":
            return self._cancel(request.body["doctype"], request.body["name"])
        return _frappe(404, "DoesNotExistError", f"frappe.exceptions.DoesNotExistError: {path}")

    def _create(self, doc: dict[str, Any]) -> Answer:
        for row, item in enumerate(doc["items"], 1):
            if item["item_code"] not in self.items:
                why = f"Row #{row}: Item Code: {item['item_code']} not found"
                return _frappe(417, "ValidationError", f"frappe.exceptions.ValidationError: {why}")
        if any(d.get("custom_kanban_signal") == doc.get("custom_kanban_signal") for d in self.documents.values()):
            return _frappe(417, "UniqueValidationError",
                           "frappe.exceptions.UniqueValidationError: Kanban Signal must be unique")
        name = f"MAT-MR-2026-{len(self.documents) + 1:05d}"
        self.documents[name] = doc | {"name": name, "status": "Pending"}
        return Answer(200, {"data": self.documents[name]})

    def _cancel(self, doctype: str, name: str) -> Answer:
        if doctype != "Material Request" or name not in self.documents:
            return _frappe(404, "DoesNotExistError", f"frappe.exceptions.DoesNotExistError: {doctype} {name} not found")
        if name in self.linked:
            return _frappe(417, "LinkExistsError", f"frappe.exceptions.LinkExistsError: Cannot cancel {name}: "
                           "it is linked with Purchase Order PUR-ORD-2026-00003")
        self.documents[name] |= {"docstatus": 2, "status": "Cancelled"}
        return Answer(200, {"message": self.documents[name]})


def _frappe(status: int, exc_type: str, exception: str) -> Answer:
    return Answer(status, {"exception": exception, "exc_type": exc_type})


@dataclass
class Odoo(StandIn):
    """Odoo's JSON-RPC (`/jsonrpc`, API key) and web session (`/web/...`) endpoints for purchase.order and the
    OCA module's stock.request."""

    database: str = "plant"
    login: str = "kanban"
    key: str = "k3y"
    uid: int = 2
    products: set[int] = field(default_factory=lambda: {41})
    records: dict[str, dict[int, dict[str, Any]]] = field(default_factory=lambda: {"purchase.order": {},
                                                                                    "stock.request": {}})
    sessions: set[str] = field(default_factory=set)
    logins: int = 0
    next_id: int = 41

    def answer(self, request: Received) -> Answer:
        body, path = request.body, request.path
        if path == "/jsonrpc":
            params = body["params"]
            if params["service"] == "common" and params["method"] == "login":
                ok = params["args"] == [self.database, self.login, self.key]
                return _rpc(body, result=self.uid if ok else False)
            db, uid, key, model, method, args, *kw = params["args"]
            if (db, uid, key) != (self.database, self.uid, self.key):
                return _rpc(body, error=("odoo.exceptions.AccessDenied", "Access Denied"))
            return self._call(body, model, method, args, kw[0] if kw else {})
        if path == "/web/session/authenticate":
            p = body["params"]
            if (p["db"], p["login"], p["password"]) != (self.database, self.login, self.key):
                return _rpc(body, error=("odoo.exceptions.AccessDenied", "Access Denied"))
            self.logins += 1
            session = f"s{self.logins}"
            self.sessions.add(session)
            return Answer(200, {"jsonrpc": "2.0", "id": body.get("id"), "result": {"uid": self.uid}}, cookie=session)
        if path.startswith("/web/dataset/call_kw/"):
            cookie = request.headers.get("Cookie", "")
            if cookie.removeprefix("session_id=") not in self.sessions:
                return Answer(200, {"jsonrpc": "2.0", "id": body.get("id"), "error": {
                    "code": 100, "message": "Odoo Session Expired",
                    "data": {"name": "odoo.http.SessionExpiredException", "message": "Session expired"}}})
            p = body["params"]
            return self._call(body, p["model"], p["method"], p["args"], p["kwargs"])
        return Answer(404, {"message": "Not Found"})

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def _call(self, body: Any, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Answer:
        records = self.records[model]
        if method == "search":
            [[(name, _, value)]] = args
            return _rpc(body, result=[i for i, r in records.items() if r.get(name) == value][:kwargs.get("limit")])
        if method == "create":
            [values] = args
            product = values.get("product_id") or values["order_line"][0][2]["product_id"]
            if product not in self.products:
                why = f"Record does not exist or has been deleted. (Record: product.product({product},))"
                return _rpc(body, error=("odoo.exceptions.MissingError", why))
            if model == "stock.request" and any(r["name"] == values["name"] for r in records.values()):
                return _rpc(body, error=("psycopg2.errors.UniqueViolation", "Stock Request name must be unique"))
            self.next_id += 1
            records[self.next_id] = values | {"state": "draft"}
            return _rpc(body, result=self.next_id)
        if method in ("button_cancel", "action_cancel"):
            [[record]] = args
            if records[record]["state"] == "done":
                return _rpc(body, error=("odoo.exceptions.UserError", "Unable to cancel a done request"))
            records[record]["state"] = "cancel"
            return _rpc(body, result=True)
        return _rpc(body, error=("builtins.AttributeError", f"The method '{method}' does not exist"))


def _rpc(body: Any, *, result: Any = None, error: tuple[str, str] | None = None) -> Answer:
    envelope: dict[str, Any] = {"jsonrpc": "2.0", "id": body.get("id")}
    if error is None:
        envelope["result"] = result
    else:
        envelope["error"] = {"code": 200, "message": "Odoo Server Error",
                             "data": {"name": error[0], "message": error[1], "arguments": [error[1]]}}
    return Answer(200, envelope)


@contextmanager
def serving(stand_in: StandIn, port: int = 0) -> Iterator[str]:
    """Serve `stand_in` on a loopback port (a free one by default); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            request = Received(self.command, self.path, query, dict(self.headers.items()),
                               json.loads(raw) if raw else None)
            answer = stand_in.handle(request)
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if answer.cookie:
                self.send_header("Set-Cookie", f"session_id={answer.cookie}; Path=/; HttpOnly")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stand_in.release.set()
        server.shutdown()
        server.server_close()
