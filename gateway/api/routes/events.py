"""GET /api/v1/events: committed events as Server-Sent Events, live, resumable with Last-Event-ID."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from gateway.api.deps import DISPLAY, ServiceDep
from gateway.api.errors import InvalidRequestError
from gateway.api.event_stream import EVENT_TYPES, Wanted
from gateway.api.models import ErrorOut
from rules.limits import MAX_ID

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_STREAM = {"description": "`text/event-stream`: `id: <seq>`, `event: <type>`, `data: <event body>` per event",
           "content": {"text/event-stream": {}}}


@router.get(
    "", dependencies=DISPLAY, response_class=StreamingResponse, responses={200: _STREAM, 422: {"model": ErrorOut}}
)
async def stream_events(  # noqa: PLR0917 -- one parameter per documented option
    service: ServiceDep,
    types: Annotated[str | None, Query(alias="type", description="comma-separated event types to send")] = None,
    lines: Annotated[str | None, Query(alias="line", description="comma-separated lines to send events of")] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID, description="send the logged events after this seq")] = None,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_ID)] = None,
    heartbeat: Annotated[bool, Query(description="when quiet, send `event: heartbeat` rather than a comment "
                                                 "(a browser's EventSource sees only events)")] = False,
) -> StreamingResponse:
    """Every committed event once its commit is done; with `Last-Event-ID` (or `after`) first those missed."""
    start = last_event_id if last_event_id is not None else after
    known_lines = (
        {spec.line for spec in service.specs.values()} | {s.line for s in service.config.stations} if lines else ()
    )
    wanted = Wanted(types=_known("type", "event type", types, EVENT_TYPES),
                    lines=_known("line", "line", lines, known_lines))
    return StreamingResponse(
        service.events.stream(after=start, wanted=wanted, heartbeat=heartbeat), media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _known(param: str, what: str, listed: str | None, known: Collection[str]) -> frozenset[str] | None:
    """The names of a comma list, all of them known; None when not given."""
    if listed is None:
        return None
    names = frozenset(n.strip() for n in listed.split(",") if n.strip())
    if unknown := names - set(known):
        raise InvalidRequestError(
            f"{param}: unknown {what} {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    return names or None
