"""GET /api/v1/loops and /api/v1/loops/{id}."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.models import ErrorOut, LoopList, LoopOut
from gateway.views import loop_out

router = APIRouter(prefix="/api/v1/loops", tags=["loops"])


@router.get("")
async def list_loops(service: ServiceDep) -> LoopList:
    """Every kanban loop with its cards (home or out, and where) and live level."""
    loops = [view for b in service.engine if (view := loop_out(service, b.spec.bin_id)) is not None]
    return LoopList(loops=loops, count=len(loops))


@router.get("/{loop_id}", responses={404: {"model": ErrorOut}})
async def get_loop(loop_id: str, service: ServiceDep) -> LoopOut:
    """One loop."""
    view = loop_out(service, loop_id)
    if view is None:
        raise NotFoundError(f"no loop with id {loop_id!r}")
    return view
