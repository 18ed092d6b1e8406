"""POST /api/v1/targets/{id}/updates: an ERP moves a signal on by the document a delivery target made for it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from gateway.api.deps import ServiceDep, SignalsCaller
from gateway.api.errors import NotFoundError
from gateway.api.models import ErrorOut, SignalOut
from gateway.api.views import signal_out
from gateway.floor.card_actions import ActionRequest
from rules.cards import Action
from rules.limits import MAX_COUNT

router = APIRouter(prefix="/api/v1/targets", tags=["targets"])

_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}
}


class DocumentUpdateIn(BaseModel):
    """What became of a document in the ERP: the signal it was made for takes this step of its lifecycle."""

    document_id: str = Field(min_length=1, max_length=200)
    action: Action
    quantity: int | None = Field(default=None, ge=1, le=MAX_COUNT)  # ship
    asn: str | None = Field(default=None, min_length=1, max_length=100)  # ship


@router.post("/{target_id}/updates", responses=_ERRORS)
async def document_update(
    target_id: str, body: DocumentUpdateIn, service: ServiceDep, caller: SignalsCaller,
    key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> SignalOut:
    """The ERP acknowledges, ships, receives or cancels what a target's document asked for (docs/ERP.md); needs
    a key that may move signals (role erp or admin)."""
    if all(target.id != target_id for target in service.config.targets):
        raise NotFoundError(f"no delivery target with id {target_id!r}")
    signal_id = service.store.signal_of_document(target_id, body.document_id)
    if signal_id is None:
        raise NotFoundError(f"target {target_id} made no document {body.document_id!r}")
    shipping = body.action == "ship"
    req = ActionRequest(
        # By the target: the event it causes is not sent back to it (connectors/hub.py).
        signal_id=signal_id, action=body.action, by=target_id, idempotency_key=key,
        quantity=body.quantity if shipping else None, asn=body.asn if shipping else None,
    )
    row = await service.card_actions.apply(req)  # a refusal answers 404, 409 or 422 (gateway/api/errors.py)
    if body.action == "cancel":
        await service.documents.record(signal_id=signal_id, target=target_id, document_id=body.document_id,
                                       cancelled=True)
        row = service.store.signal(signal_id) or row
    return signal_out(row)
