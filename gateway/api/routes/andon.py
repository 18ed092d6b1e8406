"""The Andon board: GET /andon and /andon/{line} (the page for a wall TV), GET /api/v1/andon (its colours)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gateway.api.andon_page import board, page
from gateway.api.deps import DISPLAY, ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.floor_models import AndonList
from gateway.api.floor_views import andon_out
from gateway.api.models import ErrorOut

router = APIRouter(tags=["andon"])


@router.get("/andon", dependencies=DISPLAY, response_class=HTMLResponse)
async def board_page(service: ServiceDep) -> HTMLResponse:
    """The Andon board of every line, live: open it on a wall TV (`?token=` a display key when reads need one)."""
    return HTMLResponse(page(board(service, None)))


@router.get("/andon/{line}", dependencies=DISPLAY, response_class=HTMLResponse, responses={404: {"model": ErrorOut}})
async def line_page(line: str, service: ServiceDep) -> HTMLResponse:
    """The Andon board of one line."""
    if line not in {tile_line for tile_line, _, _, _ in service.andon.every_station()}:
        raise NotFoundError(f"no line {line!r} on the Andon board")
    return HTMLResponse(page(board(service, line)))


@router.get("/api/v1/andon", dependencies=DISPLAY)
async def list_andon(service: ServiceDep) -> AndonList:
    """Every station's current Andon colour (as last published) and its inputs."""
    stations = andon_out(service.andon)
    return AndonList(stations=stations, count=len(stations))
