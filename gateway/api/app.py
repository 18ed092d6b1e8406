"""The FastAPI application: routes, error shape, OpenAPI at /docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from gateway.api import errors
from gateway.api.middleware import BodyLimit, FaultGuard
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


def create_app(service: Service) -> FastAPI:
    """The API for one running service."""
    app = FastAPI(
        title="kanban-edge",
        summary="Kanban loops, pull signals and sensor health of one site",
        version="1",
    )
    app.state.service = service
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=service.config.api.max_body_bytes)
    app.add_middleware(FaultGuard)  # outermost of ours: whatever escapes the rest
    for module in (bins, loops, history, signals, stations, alarms, andon, health, deliveries, events, exports,
                   targets):
        app.include_router(module.router)
    return app
