"""GET /api/v1/bins/{id}/history: a bin's level over time, from InfluxDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from connectors.influx_history import HistoryError, auto_every, bin_history, every_s
from gateway.api.deps import READ, ServiceDep
from gateway.api.errors import ApiError, NotFoundError
from gateway.api.models import ErrorOut

router = APIRouter(tags=["bins"])

DEFAULT_SPAN = timedelta(hours=24)


class HistoryUnavailableError(ApiError):
    """No InfluxDB is configured, or it did not answer."""

    status = 503
    code = "history_unavailable"


class HistoryPointOut(BaseModel):
    """Mean level over one interval starting at `time`."""

    time: datetime
    pieces: float | None
    weight_g: float | None
    level_pct: float | None


class HistoryOut(BaseModel):
    """A bin's level per interval, oldest first."""

    bin_id: str
    start: datetime
    stop: datetime
    every: str
    points: list[HistoryPointOut]


@router.get(
    "/api/v1/bins/{bin_id}/history",
    dependencies=READ,
    responses={404: {"model": ErrorOut}, 400: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def bin_level_history(
    bin_id: str,
    service: ServiceDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    stop: Annotated[datetime | None, Query(alias="to")] = None,
    every: str | None = None,
) -> HistoryOut:
    """Mean pieces, weight and level % per interval between `from` and `to` (default: the last 24 h).

    `every` is like 30s, 5m, 1h or 1d; by default the smallest that gives at most 2000 points."""
    influx = service.config.influx
    if service.engine.get(bin_id) is None:
        raise NotFoundError(f"no bin with id {bin_id!r}")
    if influx is None:
        raise HistoryUnavailableError("no InfluxDB is configured (influx: in the plant file)")
    stop = _utc(stop) if stop else datetime.now(UTC)
    start = _utc(start) if start else stop - DEFAULT_SPAN
    if start >= stop:
        raise ApiError("from must be before to")
    every = every or auto_every(start, stop)
    try:
        every_s(every)
    except ValueError as exc:
        raise ApiError(str(exc)) from exc
    try:
        points = await bin_history(influx, site=service.config.site, bin_id=bin_id, start=start, stop=stop,
                                   every=every)
    except HistoryError as exc:
        raise HistoryUnavailableError(str(exc)) from exc
    return HistoryOut(
        bin_id=bin_id, start=start, stop=stop, every=every,
        points=[HistoryPointOut(time=p.time, pieces=p.pieces, weight_g=p.weight_g, level_pct=p.level_pct)
                for p in points],
    )


def _utc(t: datetime) -> datetime:
    """A time without zone is UTC, as everywhere in the API."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
