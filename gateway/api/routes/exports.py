"""Spreadsheet exports for planners: GET /api/v1/signals.csv, /api/v1/loops.csv, /api/v1/kpis.csv.

The same rows and filters as the JSON endpoints, streamed as CSV (gateway/api/csv_rows.py); signals are read from
the store a page at a time, so an export of a year of signals holds one page in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from gateway.api.csv_rows import csv_chunks
from gateway.api.deps import READ, ServiceDep
from gateway.api.models import KpisOut, LoopOut, SignalOut
from gateway.api.routes.signals import SignalFilter
from gateway.api.views import loop_out, signal_out

router = APIRouter(prefix="/api/v1", tags=["exports"])

PAGE = 500
MEDIA_TYPE = "text/csv; charset=utf-8; header=present"
SIGNAL_COLUMNS = [name for name in SignalOut.model_fields if name not in ("transitions", "documents")] + ["documents"]
LOOP_COLUMNS = [name for name in LoopOut.model_fields if name != "card_states"]
KPI_COLUMNS = ["scope", "id", *KpisOut.model_fields]
_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "CSV with a header row"}}


def _csv(name: str, chunks: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        (chunk.encode() async for chunk in chunks), media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _paced(chunks: Iterator[str]) -> AsyncIterator[str]:
    """The chunks, letting the event loop run between them."""
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


@router.get("/signals.csv", response_class=StreamingResponse, dependencies=READ, responses=_CSV)
async def signals_csv(
    service: ServiceDep, query: SignalFilter, limit: int | None = Query(default=None, ge=1),
) -> StreamingResponse:
    """The signals `GET /api/v1/signals` lists with these filters, newest first, all of them unless `limit`;
    `documents` holds `target:document_id` pairs separated by spaces."""

    def rows() -> Iterator[dict[str, Any]]:
        left, before = limit, None
        while left is None or left > 0:
            size = PAGE if left is None else min(PAGE, left)
            page = service.store.signals(replace(query, before=before, limit=size))
            yield from (_signal_row(row) for row in page)
            if len(page) < size:
                return
            before = (page[-1]["released_at"], page[-1]["id"])
            left = None if left is None else left - len(page)

    return _csv("signals.csv", _paced(csv_chunks(SIGNAL_COLUMNS, rows())))


def _signal_row(row: dict[str, Any]) -> dict[str, Any]:
    out = signal_out(row).model_dump()
    out["documents"] = " ".join(f"{d['target']}:{d['document_id']}" for d in out["documents"])
    return out


@router.get("/loops.csv", response_class=StreamingResponse, dependencies=READ, responses=_CSV)
async def loops_csv(service: ServiceDep) -> StreamingResponse:
    """Every loop as `GET /api/v1/loops` shows it, one row each (without its cards: `open_cards` counts them)."""

    def rows() -> Iterable[dict[str, Any]]:
        for scale_bin in service.engine:
            view = loop_out(service, scale_bin.spec.bin_id)
            if view is not None:
                yield view.model_dump()

    return _csv("loops.csv", _paced(csv_chunks(LOOP_COLUMNS, rows())))


@router.get("/kpis.csv", response_class=StreamingResponse, dependencies=READ, responses=_CSV)
async def kpis_csv(service: ServiceDep) -> StreamingResponse:
    """`GET /api/v1/kpis` as rows: `scope` is `loop` or `supplier`, `id` the loop's or the supplier's."""
    report = service.analytics.all_kpis()
    rows = [{"scope": scope, "id": key, **kpis} for scope, group in (("loop", "loops"), ("supplier", "suppliers"))
            for key, kpis in report[group].items()]
    return _csv("kpis.csv", _paced(csv_chunks(KPI_COLUMNS, rows)))
