"""GET /api/v1/bins and /api/v1/bins/{id}."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import READ, ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.models import BinList, BinOut, ErrorOut
from gateway.api.views import bin_out

router = APIRouter(prefix="/api/v1/bins", tags=["bins"])


@router.get("", dependencies=READ)
async def list_bins(service: ServiceDep) -> BinList:
    """Every bin with its live level, stale flag and open signal."""
    bins = [view for b in service.engine if (view := bin_out(service, b.spec.bin_id)) is not None]
    return BinList(bins=bins, count=len(bins))


@router.get("/{bin_id}", dependencies=READ, responses={404: {"model": ErrorOut}})
async def get_bin(bin_id: str, service: ServiceDep) -> BinOut:
    """One bin."""
    view = bin_out(service, bin_id)
    if view is None:
        raise NotFoundError(f"no bin with id {bin_id!r}")
    return view
