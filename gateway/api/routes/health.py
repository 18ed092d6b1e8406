"""GET /healthz, /readyz, /metrics and /api/v1/counters."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import READ, ServiceDep
from gateway.api.metrics import CONTENT_TYPE
from gateway.api.models import Counters, Health, Readiness

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


@router.get("/api/v1/counters", dependencies=READ)
async def counters(service: ServiceDep) -> Counters:
    """Messages processed since start, rejected messages by reason, live event stream clients."""
    return Counters(
        processed_since_start=service.ingest.processed, rejected=dict(service.rejections.counts),
        event_stream_clients=service.events.clients, event_stream_overflows=service.events.overflows,
        sparkplug=dict(service.sparkplug.counts) if service.sparkplug is not None else {},
    )


@router.get("/readyz", responses={503: {"model": Readiness}})
async def readyz(service: ServiceDep) -> JSONResponse:
    """200 once the plant is loaded and its start-up work done, with the broker connected and the database taking
    writes (for a load balancer or a standby taking over); 503 with what is missing."""
    ready = Readiness(
        ready=service.started_up and service.link.connected and service.committer.healthy
        and service.store.damage is None,
        plant_loaded=True, started_up=service.started_up, broker_connected=service.link.connected,
        database_writable=service.committer.healthy and service.store.damage is None,
    )
    return JSONResponse(ready.model_dump(), status_code=200 if ready.ready else 503)


@router.get("/metrics", dependencies=READ, response_class=Response,
            responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}})
async def metrics(service: ServiceDep) -> Response:
    """Prometheus metrics: messages, rejections, signals, alarms, commits, outbox, InfluxDB, stream, process."""
    return Response(service.metrics.exposition(), media_type=CONTENT_TYPE)
