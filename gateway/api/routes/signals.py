"""GET /api/v1/signals and /api/v1/signals/{id}."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from gateway.api.deps import ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.models import ErrorOut, SignalList, SignalOut
from gateway.views import signal_out

router = APIRouter(prefix="/api/v1/signals", tags=["signals"])


@router.get("")
async def list_signals(
    service: ServiceDep,
    status: Literal["open", "closed", "all"] = "all",
    limit: int = Query(default=100, ge=1, le=1000),
) -> SignalList:
    """Kanban pull signals, newest first."""
    signals = [signal_out(row) for row in service.store.signals(status, limit)]
    return SignalList(signals=signals, count=len(signals))


@router.get("/{signal_id}", responses={404: {"model": ErrorOut}})
async def get_signal(signal_id: str, service: ServiceDep) -> SignalOut:
    """One signal."""
    row = service.store.signal(signal_id)
    if row is None:
        raise NotFoundError(f"no signal with id {signal_id!r}")
    return signal_out(row)
