"""The FastAPI application: routes, error shape, OpenAPI at /docs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from gateway.api import errors
from gateway.api.auth import WRITES, permission_of
from gateway.api.middleware import BodyLimit, FaultGuard, JsonWrites
from gateway.api.routes import (
    alarms,
    andon,
    bins,
    deliveries,
    events,
    exports,
    health,
    history,
    loops,
    signals,
    stations,
    targets,
)

if TYPE_CHECKING:
    from gateway.service import Service


log = logging.getLogger(__name__)

ROUTERS = tuple(m.router for m in (bins, loops, history, signals, stations, alarms, andon, health, deliveries, events,
                                   exports, targets))
"""Every route of the API, by resource (gateway/api/routes/)."""


def create_app(service: Service) -> FastAPI:
    """The API for one running service."""
    # /docs from files shipped with the package: a plant network is usually air-gapped, and a CDN unreachable.
    app = FastAPIOffline(
        title="kanban-edge",
        summary="Kanban loops, pull signals and sensor health of one site",
        version="1",
        redoc_url=None,
        static_url="/docs/static",
    )
    app.state.service = service
    app.state.access = service.access
    errors.install(app)
    app.add_middleware(JsonWrites)
    app.add_middleware(BodyLimit, max_bytes=service.config.api.max_body_bytes)
    app.add_middleware(FaultGuard)  # outermost of ours: whatever escapes the rest
    _say_who_may_do_what(service)
    # The Andon page's stylesheet and script: no data in them, so no key needed.
    app.mount("/andon/static", StaticFiles(directory=Path(__file__).with_name("static")), name="andon-static")
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the answers every route can give that it does not know of: 401 and 403 where
    a key is needed, 413 and 415 for writes, and every error (422 too) in the API's one error shape."""
    if app.openapi_schema is None:
        api = app.state.service.config.api
        document = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        needs = {(method.lower(), route.path): permission_of(route) for router in ROUTERS
                 for route in router.routes if isinstance(route, APIRoute) for method in route.methods or ()}
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                answers = operation.setdefault("responses", {})
                extra = {}
                if "422" in answers or method == "post":
                    extra["422"] = "invalid request: a value out of range, a missing field"
                if (needed := needs.get((method, path))) is not None:
                    extra |= {"401": "no API key, or an unknown one", "403": "the key's role may not do this"}
                    if api.writes_open if needed in WRITES else api.reads_open:
                        operation.setdefault("security", []).append({})  # this plant lets callers without a key
                if method == "post":
                    extra |= {"413": "body over api.max_body_bytes", "415": "not Content-Type: application/json"}
                for status, description in extra.items():
                    answers[status] = {"description": description, **error}
                for status, answer in answers.items():  # errors are JSON, even from a route that answers HTML
                    if status >= "400" and "application/json" not in answer.get("content", {}):
                        answer.update(error)
        document["components"]["schemas"].pop("HTTPValidationError", None)
        document["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = document
    return app.openapi_schema


def _say_who_may_do_what(service: Service) -> None:
    api = service.config.api
    where = f"{api.host}:{api.port}"
    if api.writes_open:
        log.info("API on %s (this machine only), no api.keys: open to local callers", where)
    elif not api.keys:
        log.warning(
            "API on %s has no api.keys: it is read-only%s. Add keys with a role (api.keys, docs/SECURITY.md) to"
            " allow writes", where, " to anyone who can reach it" if api.reads_open else
            " and closed to reads too (api.anonymous_read: false)")
    else:
        roles = ", ".join(sorted({key.role for key in api.keys}))
        log.info("API on %s: %d key(s) (%s); reads %s", where, len(api.keys), roles,
                 "open to all" if api.reads_open else "need a key")
