"""GET /api/v1/events: committed events as Server-Sent Events, live, resumable with Last-Event-ID."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from gateway.api.deps import ServiceDep
from gateway.api.errors import InvalidRequestError
from gateway.api.models import ErrorOut
from gateway.event_stream import EVENT_TYPES

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_STREAM = {"description": "`text/event-stream`: `id: <seq>`, `event: <type>`, `data: <event body>` per event",
           "content": {"text/event-stream": {}}}


@router.get("", response_class=StreamingResponse, responses={200: _STREAM, 422: {"model": ErrorOut}})
async def stream_events(
    service: ServiceDep,
    types: Annotated[str | None, Query(alias="type", description="comma-separated event types to send")] = None,
    after: Annotated[int | None, Query(ge=0, description="send the logged events after this seq first")] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
) -> StreamingResponse:
    """Every committed event once its commit is done; with `Last-Event-ID` (or `after`) first those missed."""
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        service.events.stream(after=start, types=_types(types)), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _types(listed: str | None) -> frozenset[str] | None:
    if listed is None:
        return None
    types = frozenset(t.strip() for t in listed.split(",") if t.strip())
    if unknown := types - EVENT_TYPES:
        raise InvalidRequestError(
            f"type: unknown event type {', '.join(sorted(unknown))}; known: {', '.join(sorted(EVENT_TYPES))}"
        )
    return types or None
