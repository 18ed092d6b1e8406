"""GET /api/v1/signals (filters, cursor pages), GET /api/v1/signals/{id} and the lifecycle POSTs."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query

from gateway.api.auth import Caller
from gateway.api.deps import READ, ServiceDep, SignalsCaller
from gateway.api.errors import InvalidRequestError, NotFoundError
from gateway.api.models import ActionIn, ErrorOut, ShipIn, SignalList, SignalOut
from gateway.api.views import signal_out
from gateway.floor.card_actions import (
    ActionRequest,
)
from gateway.state.cards import SignalQuery
from rules.cards import Action, SignalStatus

router = APIRouter(prefix="/api/v1/signals", tags=["signals"])

StatusFilter = Literal["open", "closed", "all"] | SignalStatus


def signal_filter(
    status: StatusFilter = "all",
    supplier: str | None = None,
    line: str | None = None,
    loop: str | None = None,
    since: datetime | None = None,
) -> SignalQuery:
    """The filters of the signal list and its CSV export, as query parameters (one page, newest first)."""
    return SignalQuery(status=status, supplier=supplier, line=line, bin_id=loop,
                       since=since.timestamp() if since is not None else None)


SignalFilter = Annotated[SignalQuery, Depends(signal_filter)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}
}


@router.get("", dependencies=READ, responses={422: {"model": ErrorOut}})
async def list_signals(
    service: ServiceDep,
    filters: SignalFilter,
    cursor: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> SignalList:
    """Kanban pull signals, newest first, with their transitions; pass `next_cursor` back for the next page."""
    rows = service.store.signals(replace(filters, before=_decode(cursor), limit=limit))
    last = rows[-1] if len(rows) == limit else None
    signals = [signal_out(row) for row in rows]
    return SignalList(signals=signals, count=len(signals), next_cursor=_encode(last) if last else None)


@router.get("/{signal_id}", dependencies=READ, responses={404: {"model": ErrorOut}})
async def get_signal(signal_id: str, service: ServiceDep) -> SignalOut:
    """One signal with every transition (what, when, by whom)."""
    row = service.store.signal(signal_id)
    if row is None:
        raise NotFoundError(f"no signal with id {signal_id!r}")
    return signal_out(row)


@router.post("/{signal_id}/acknowledge", responses=_ERRORS)
async def acknowledge(
    signal_id: str, service: ServiceDep, caller: SignalsCaller, key: IdempotencyKey = None,
    body: ActionIn | None = None,
) -> SignalOut:
    """The supplier or ERP confirms the signal."""
    return await _act(service, caller, signal_id, "acknowledge", body or ActionIn(), key=key)


@router.post("/{signal_id}/ship", responses=_ERRORS)
async def ship(
    signal_id: str, service: ServiceDep, caller: SignalsCaller, key: IdempotencyKey = None,
    body: ShipIn | None = None,
) -> SignalOut:
    """The container is on its way; `quantity` defaults to the loop's container quantity."""
    return await _act(service, caller, signal_id, "ship", body or ShipIn(), key=key)


@router.post("/{signal_id}/receive", responses=_ERRORS)
async def receive(
    signal_id: str, service: ServiceDep, caller: SignalsCaller, key: IdempotencyKey = None,
    body: ActionIn | None = None,
) -> SignalOut:
    """The container arrived: the signal closes and its card is free again."""
    return await _act(service, caller, signal_id, "receive", body or ActionIn(), key=key)


@router.post("/{signal_id}/cancel", responses=_ERRORS)
async def cancel(
    signal_id: str, service: ServiceDep, caller: SignalsCaller, key: IdempotencyKey = None,
    body: ActionIn | None = None,
) -> SignalOut:
    """Withdraw a signal that was not shipped: it closes and its card is free again."""
    return await _act(service, caller, signal_id, "cancel", body or ActionIn(), key=key)


async def _act(
    service: ServiceDep, caller: Caller, signal_id: str, action: Action, body: ActionIn, *, key: str | None
) -> SignalOut:
    shipping = body if isinstance(body, ShipIn) else None
    req = ActionRequest(
        signal_id=signal_id, action=action, by=body.by or caller.name or "api", idempotency_key=key,
        quantity=shipping.quantity if shipping else None, asn=shipping.asn if shipping else None,
    )
    row = await service.card_actions.apply(req)  # a refusal answers 404, 409 or 422 (gateway/api/errors.py)
    return signal_out(row)


def _encode(row: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps([row["released_at"], row["id"]]).encode()).decode()


def _decode(cursor: str | None) -> tuple[float, str] | None:
    if cursor is None:
        return None
    try:
        released_at, signal_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(released_at), str(signal_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidRequestError("cursor: not a cursor this API returned") from exc
