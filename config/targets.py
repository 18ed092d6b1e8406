"""The `targets:` section: deliveries to ERPs and other HTTP APIs, each request shaped by templates (docs/ERP.md).

A target sends `create` for a released signal (after `find`, which looks for a document made before) and `cancel`
for a cancelled one. What its templates see of an event (`event_fields`) and what a request becomes
(`render_request`) are defined here once, so check-config renders every template against a sample event of
every loop the target serves exactly as the delivery will.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from config.base import Ident, Path_, Section
from config.loops import Bin, Item, Supplier
from config.templates import RenderError, evaluate, expression, render, template

MAX_DOCUMENT_ID = 200
"""The longest document id an answer may give (ERPNext names and Odoo ids are far shorter)."""


def _template(source: str) -> str:
    try:
        template(source)
    except RenderError as exc:
        raise ValueError(f"template: {exc}") from exc
    return source


def _expression(source: str) -> str:
    try:
        expression(source)
    except RenderError as exc:
        raise ValueError(f"expression: {exc}") from exc
    return source


TemplateText = Annotated[str, AfterValidator(_template)]
"""Text with `{{ field }}` and `{% ... %}` over the event's fields (Jinja2, sandboxed)."""
Expression = Annotated[str, Field(min_length=1), AfterValidator(_expression)]
"""A Jinja2 expression over an answer: `response.data.name`."""
HeaderName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]


class TargetRequest(Section):
    """One HTTP request of a target; `url`, `headers`, `params` and `body` are templates."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: TemplateText = Field(min_length=1)
    headers: dict[HeaderName, TemplateText] = {}
    params: dict[str, TemplateText] = {}  # query parameters, encoded for the URL
    body: TemplateText | None = None
    content_type: str = Field(default="application/json", min_length=1, max_length=200)
    document_id: Expression | None = None  # the document the answer names: stored on the signal
    error: Expression | None = None  # a refusal in an answer, even a 2xx one (JSON-RPC): its text


class TargetLogin(TargetRequest):
    """A request that opens a session before the others, and again after any failure."""

    keep: dict[Ident, Expression] = {}  # values of its answer the other requests use, as `login.<name>`
    expired: Expression | None = None  # true for an answer that says the session is gone: log in again


class TargetConfig(Section):
    """Where kanban signals become documents of an ERP (or requests to any HTTP API)."""

    id: Ident
    suppliers: list[Ident] | None = None  # only the loops of these suppliers' items; default: every loop
    values: dict[str, Any] = {}  # the plant's own settings for the templates (warehouse, company, ids, ...)
    headers: dict[HeaderName, TemplateText] = {}  # sent with every request (authentication)
    login: TargetLogin | None = None
    find: TargetRequest | None = None  # run before `create` (and `cancel` when no document is known)
    create: TargetRequest | None = None  # for signal_released
    cancel: TargetRequest | None = None  # for signal_cancelled, when a document was made
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_attempts: int = Field(default=20, ge=1, le=10_000)
    max_age_h: float = Field(default=48.0, gt=0)
    retry_initial_s: float = Field(default=1.0, gt=0, le=3600)
    retry_max_s: float = Field(default=600.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _requests(self) -> TargetConfig:
        if self.create is None and self.cancel is None:
            raise ValueError("a target needs create, cancel or both")
        if self.find is not None and self.find.document_id is None:
            raise ValueError("find needs document_id: the expression that names the document found")
        return self

    @property
    def events(self) -> frozenset[str]:
        """The event types this target delivers."""
        return frozenset(
            kind for kind, request in (("signal_released", self.create), ("signal_cancelled", self.cancel))
            if request is not None
        )


@dataclass(frozen=True, slots=True)
class LoopFields:
    """What the plant file says about the loop of an event, for its fields."""

    sku: str
    description: str
    line: str
    station: str
    supplier: str | None
    supplier_name: str | None
    quantity: int
    lead_time_h: float


def event_fields(
    body: Mapping[str, Any], *, site: str, loop: LoopFields | None, public_url: str | None
) -> dict[str, Any]:
    """The fields a target's templates see for one committed event (documented in docs/ERP.md)."""
    time = str(body["ts"])
    signal_id = body.get("signal_id")
    due = datetime.fromisoformat(time) + timedelta(hours=loop.lead_time_h if loop else 0)
    link = f"{public_url.rstrip('/')}/api/v1/signals/{signal_id}" if public_url and signal_id else None
    return {
        "event_id": f"{site}:{body['seq']}", "type": body["type"], "time": time, "site": site, "seq": body["seq"],
        "signal_id": signal_id, "card": body.get("card"), "loop": body.get("loop") or body.get("bin_id"),
        "sku": body.get("sku") or (loop.sku if loop else None), "description": loop.description if loop else "",
        "line": body.get("line") or (loop.line if loop else None),
        "station": body.get("station") or (loop.station if loop else None),
        "supplier": body.get("supplier") or (loop.supplier if loop else None),
        "supplier_name": loop.supplier_name if loop else None,
        "quantity": body.get("quantity") or (loop.quantity if loop else None),
        "pieces": body.get("pieces"), "urgent": body.get("urgent") is True, "stockout": body.get("stockout") is True,
        "by": body.get("by"), "asn": body.get("asn"), "reason": body.get("reason"),
        "due_by": due.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "link": link, "event": dict(body),
    }


class TemplateProblem(Exception):
    """A request could not be made: `field` is where in the request (in the target when `shared`), `reason` why."""

    def __init__(self, field: Path_, reason: str, *, shared: bool = False) -> None:
        super().__init__(f"{'.'.join(map(str, field))}: {reason}")
        self.field = field
        self.reason = reason
        self.shared = shared


@dataclass(frozen=True, slots=True)
class Rendered:
    """A request ready to send."""

    method: str
    url: str
    headers: dict[str, str]
    params: dict[str, str]
    content: bytes | None


def _text(source: str, context: Mapping[str, Any], field: Path_, *, shared: bool = False) -> str:
    try:
        return render(source, context)
    except RenderError as exc:
        raise TemplateProblem(field, str(exc), shared=shared) from exc


def _header(source: str, context: Mapping[str, Any], name: str, *, shared: bool) -> str:
    value = _text(source, context, ("headers", name), shared=shared).strip()
    if "\r" in value or "\n" in value:
        raise TemplateProblem(("headers", name), "renders a line break, which a header cannot hold", shared=shared)
    return value


def render_request(request: TargetRequest, *, headers: Mapping[str, str], context: Mapping[str, Any]) -> Rendered:
    """What `request` sends for `context` (an event's fields and more); `TemplateProblem` when it cannot be made."""
    url = _text(request.url, context, ("url",)).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The text is not repeated: a URL or body may hold a secret, and this message reaches logs and the API.
        raise TemplateProblem(("url",), "does not render an http:// or https:// url with a host")
    sent = {name: _header(source, context, name, shared=True) for name, source in headers.items()}
    sent |= {name: _header(source, context, name, shared=False) for name, source in request.headers.items()}
    params = {name: _text(source, context, ("params", name)) for name, source in request.params.items()}
    content = None
    if request.body is not None:
        text = _text(request.body, context, ("body",))
        if "json" in request.content_type:
            try:
                json.loads(text)
            except ValueError as exc:
                raise TemplateProblem(("body",), f"renders text that is not JSON: {exc}") from exc
        content = text.encode()
        if not any(name.lower() == "content-type" for name in sent):
            sent["Content-Type"] = request.content_type
    return Rendered(request.method, url, sent, params, content)


def answer_context(status: int, text: str) -> dict[str, Any]:
    """What the expressions over an answer see: `status`, `response` (the parsed JSON, else None), `text`."""
    try:
        response = json.loads(text) if text else None
    except ValueError:
        response = None
    return {"status": status, "response": response, "text": text}


def document_of(request: TargetRequest, answer: Mapping[str, Any]) -> str | None:
    """The document an answer names, by the request's `document_id` expression (None: it names none)."""
    if request.document_id is None:
        return None
    value = evaluate(request.document_id, answer)
    if value is None or value is False or (isinstance(value, str | list | dict) and not value):
        return None
    found = str(value).strip()
    if len(found) > MAX_DOCUMENT_ID:
        raise RenderError(f"the document id the answer gives is longer than {MAX_DOCUMENT_ID} characters")
    return found or None


def refusal_in(request: TargetRequest, answer: Mapping[str, Any]) -> str | None:
    """The text of a refusal the answer holds, by the request's `error` expression (None: no refusal)."""
    if request.error is None:
        return None
    value = evaluate(request.error, answer)
    return str(value) if value else None


# --- check-config ----------------------------------------------------------------------------------

SAMPLE_TIME = "2026-01-05T08:00:00.000Z"
SAMPLE_DOCUMENT = "SAMPLE-DOCUMENT-1"


def served(target: TargetConfig, supplier: str | None) -> bool:
    """Whether the target takes the events of a loop whose item comes from `supplier`."""
    return target.suppliers is None or supplier in target.suppliers


def samples(site: str, bin_: Bin, loop: LoopFields) -> dict[str, dict[str, Any]]:
    """The fields of a sample released and a sample cancelled signal of a loop, by event type."""
    common: dict[str, Any] = {
        "site": site, "bin_id": bin_.id, "ts": SAMPLE_TIME, "signal_id": f"{bin_.id}-1", "card": 1, "seq": 1,
    }
    released = common | {"type": "signal_released", "sku": loop.sku, "line": loop.line, "station": loop.station,
                         "supplier": loop.supplier, "quantity": loop.quantity, "pieces": bin_.reorder_point,
                         "by": "scale", "urgent": False, "stockout": False}
    cancelled = common | {"type": "signal_cancelled", "by": "api", "pieces": bin_.reorder_point}
    return {str(body["type"]): event_fields(body, site=site, loop=loop, public_url=None)
            for body in (released, cancelled)}


def target_problems(
    targets: list[TargetConfig], *, site: str, bins: Iterable[Bin], items: Mapping[str, Item],
    suppliers: Mapping[str, Supplier],
) -> list[tuple[Path_, str]]:
    """Every target's templates rendered against a sample event of each loop it serves: the first problem of
    each request, where it is."""
    problems: list[tuple[Path_, str]] = []
    loops = [(b, _loop_fields(b, items, suppliers)) for b in bins if b.sku in items]
    for index, target in enumerate(targets):
        for k, supplier in enumerate(target.suppliers or []):
            if supplier not in suppliers:
                problems.append((("targets", index, "suppliers", k), f"unknown supplier {supplier!r}"))
        if target.login is not None:
            try:
                render_request(target.login, headers=target.headers, context={"values": target.values})
            except TemplateProblem as exc:
                problems.append((("targets", index, *(exc.field if exc.shared else ("login", *exc.field))),
                                 exc.reason))
        if len({t.id for t in targets[:index + 1]}) <= index:
            problems.append((("targets", index, "id"), f"duplicate id {target.id!r}"))
        failing: set[str] = set()
        for bin_, loop in loops:
            if served(target, loop.supplier):
                problems += _check_loop(index, target, samples(site, bin_, loop), failing)
    return problems


def _check_loop(
    index: int, target: TargetConfig, fields: dict[str, dict[str, Any]], failing: set[str]
) -> list[tuple[Path_, str]]:
    plan = [("find", target.find, "signal_released"), ("create", target.create, "signal_released"),
            ("cancel", target.cancel, "signal_cancelled")]
    problems: list[tuple[Path_, str]] = []
    for slot, request, kind in plan:
        if request is None or slot in failing:
            continue
        login = dict.fromkeys(target.login.keep, 1) if target.login else {}
        document = SAMPLE_DOCUMENT if slot == "cancel" else None
        context = fields[kind] | {"values": target.values, "login": login, "document_id": document}
        try:
            render_request(request, headers=target.headers, context=context)
        except TemplateProblem as exc:
            failing.add(slot)
            place = exc.field if exc.shared else (slot, *exc.field)
            problems.append((("targets", index, *place), f"loop {fields[kind]['loop']}: {exc.reason}"))
    return problems


def _loop_fields(bin_: Bin, items: Mapping[str, Item], suppliers: Mapping[str, Supplier]) -> LoopFields:
    item = items[bin_.sku]
    supplier = suppliers.get(item.supplier) if item.supplier else None
    return LoopFields(
        sku=bin_.sku, description=item.description, line=bin_.line, station=bin_.station, supplier=item.supplier,
        supplier_name=supplier.name if supplier else None, quantity=bin_.container_qty,
        lead_time_h=supplier.lead_time_h if supplier else 0.0,
    )
