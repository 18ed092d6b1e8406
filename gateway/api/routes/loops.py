"""GET /api/v1/loops, /api/v1/loops/{id}, /api/v1/loops/{id}/analytics and /api/v1/kpis."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import READ, ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.models import ErrorOut, KpisReport, LoopAnalyticsOut, LoopList, LoopOut
from gateway.api.views import loop_out

router = APIRouter(prefix="/api/v1", tags=["loops"])


@router.get("/loops", dependencies=READ)
async def list_loops(service: ServiceDep) -> LoopList:
    """Every kanban loop with its cards (home or out, and where) and live level."""
    loops = [view for b in service.engine if (view := loop_out(service, b.spec.bin_id)) is not None]
    return LoopList(loops=loops, count=len(loops))


@router.get("/loops/{loop_id}", dependencies=READ, responses={404: {"model": ErrorOut}})
async def get_loop(loop_id: str, service: ServiceDep) -> LoopOut:
    """One loop."""
    view = loop_out(service, loop_id)
    if view is None:
        raise NotFoundError(f"no loop with id {loop_id!r}")
    return view


@router.get("/loops/{loop_id}/analytics", dependencies=READ, responses={404: {"model": ErrorOut}})
async def loop_analytics(loop_id: str, service: ServiceDep) -> LoopAnalyticsOut:
    """Consumption rate, time to empty, lead times, recommended sizing beside the configured one, and KPIs."""
    if service.engine.get(loop_id) is None:
        raise NotFoundError(f"no loop with id {loop_id!r}")
    return LoopAnalyticsOut.model_validate(service.analytics.report(loop_id))


@router.get("/kpis", dependencies=READ)
async def kpis(service: ServiceDep) -> KpisReport:
    """Stockouts, on-time receipt rate, signal → receipt time and cards per day, per loop and per supplier."""
    return KpisReport.model_validate(service.analytics.all_kpis())
