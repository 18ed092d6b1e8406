"""GET /healthz and /api/v1/counters."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.api.deps import ServiceDep
from gateway.api.models import Counters, Health

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"model": Health}})
async def healthz(service: ServiceDep) -> JSONResponse:
    """200 when the broker is connected and the database takes writes, else 503 with what is wrong."""
    database_error = service.committer.last_error or service.store.damage
    health = Health(
        status="ok" if service.link.connected and database_error is None else "degraded",
        broker_connected=service.link.connected,
        database_writable=service.committer.healthy,
        database_error=database_error,
        uptime_s=round(service.clock() - service.started_at, 1),
    )
    return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)


@router.get("/api/v1/counters")
async def counters(service: ServiceDep) -> Counters:
    """Messages processed since start, rejected messages by reason, live event stream clients."""
    return Counters(
        processed_since_start=service.ingest.processed, rejected=dict(service.rejections.counts),
        event_stream_clients=service.events.clients, event_stream_overflows=service.events.overflows,
        sparkplug=dict(service.sparkplug.counts) if service.sparkplug is not None else {},
    )
