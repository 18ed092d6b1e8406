"""GET /api/v1/andon."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import ServiceDep
from gateway.api.floor_models import AndonList
from gateway.api.floor_views import andon_out

router = APIRouter(prefix="/api/v1/andon", tags=["andon"])


@router.get("")
async def list_andon(service: ServiceDep) -> AndonList:
    """Every station's current Andon colour (as last published) and its inputs."""
    stations = andon_out(service.andon)
    return AndonList(stations=stations, count=len(stations))
