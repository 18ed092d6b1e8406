"""GET /api/v1/alarms and POST /api/v1/alarms/{id}/acknowledge."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from gateway.api.deps import FLOOR, READ, ServiceDep
from gateway.api.errors import ConflictError, NotFoundError
from gateway.api.floor_models import AlarmList, AlarmOut
from gateway.api.floor_views import alarm_out
from gateway.api.models import ErrorOut, RowId
from gateway.floor.shop_floor import FloorOperationError

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])


@router.get("", dependencies=READ)
async def list_alarms(
    service: ServiceDep,
    status: Literal["active", "all"] = "active",
    limit: int = Query(default=100, ge=1, le=1000),
) -> AlarmList:
    """Alarms of stations, PLCs and bins, newest first; `active` means not yet cleared (acknowledged or not)."""
    rows = service.store.floor.alarms(open_only=status == "active", limit=limit)
    alarms = [alarm_out(row) for row in rows]
    return AlarmList(alarms=alarms, count=len(alarms))


@router.post(
    "/{alarm_id}/acknowledge", dependencies=FLOOR, responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}}
)
async def acknowledge_alarm(alarm_id: RowId, service: ServiceDep) -> AlarmOut:
    """Acknowledge an alarm; answers once it is committed. A cleared alarm cannot be acknowledged (409)."""
    try:
        await service.floor.acknowledge(alarm_id, service.clock())
    except FloorOperationError as exc:
        raise (NotFoundError if exc.not_found else ConflictError)(str(exc)) from exc
    row = service.store.floor.alarm(alarm_id)
    assert row is not None
    return alarm_out(row)
