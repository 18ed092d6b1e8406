"""GET /api/v1/stations and POST /api/v1/stations/{id}/wip."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import FLOOR, READ, ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.floor_models import StationList, StationOut, WipCount
from gateway.api.floor_views import station_out
from gateway.api.models import ErrorOut
from gateway.floor.shop_floor import FloorOperationError

router = APIRouter(prefix="/api/v1/stations", tags=["stations"])


@router.get("", dependencies=READ)
async def list_stations(service: ServiceDep) -> StationList:
    """Every station with its WIP, levels, state and hourly rates."""
    now = service.clock()
    stations = [station_out(service.floor, sid, now) for sid in service.floor.station_config]
    return StationList(stations=stations, count=len(stations))


@router.post("/{station_id}/wip", dependencies=FLOOR, responses={404: {"model": ErrorOut}})
async def count_wip(station_id: str, count: WipCount, service: ServiceDep) -> StationOut:
    """Set a station's WIP from a physical count; answers once the change is committed."""
    now = service.clock()
    try:
        await service.floor.set_wip(station_id, count.wip, now)
    except FloorOperationError as exc:
        raise NotFoundError(str(exc)) from exc
    return station_out(service.floor, station_id, now)
