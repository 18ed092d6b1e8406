"""Deliveries to supplier webhooks and delivery targets (ERPs): GET /api/v1/deliveries, POST
/api/v1/deliveries/{id}/retry; GET /api/v1/outbox."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from connectors.outbox import Item
from connectors.targets import CONSUMER_PREFIX as _TARGET
from edge.timestamps import iso
from gateway.api.deps import DELIVERIES, READ, ServiceDep
from gateway.api.errors import NotFoundError
from gateway.api.models import ErrorOut, RowId

router = APIRouter(tags=["deliveries"])

_WEBHOOK = "webhook:"


class DeliveryOut(BaseModel):
    """One event on its way to one supplier's webhook (`supplier`) or one delivery target (`target`)."""

    id: int
    supplier: str | None
    target: str | None
    event_id: str
    type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    queued_at: str
    next_attempt_at: str | None
    updated_at: str
    last_error: str | None


class DeliveryList(BaseModel):
    """Deliveries, newest first."""

    deliveries: list[DeliveryOut]
    count: int


class InfluxOut(BaseModel):
    """InfluxDB lines since start: queued in the outbox, written, refused by InfluxDB (dropped), and dropped
    because the outbox could not take them."""

    reachable: bool | None
    lines_queued: int
    lines_written: int
    lines_rejected: int
    lines_dropped: int


class OutboxOut(BaseModel):
    """Items in the outbox per consumer (`webhook:<supplier>`, `target:<id>`, `influx`): by status, and dropped by
    its size cap."""

    consumers: dict[str, dict[str, int]]
    influx: InfluxOut | None


def _delivery(item: Item) -> DeliveryOut:
    webhook, target = item.consumer.startswith(_WEBHOOK), item.consumer.startswith(_TARGET)
    return DeliveryOut(
        id=item.id, supplier=item.consumer.removeprefix(_WEBHOOK) if webhook else None,
        target=item.consumer.removeprefix(_TARGET) if target else None, event_id=item.key, type=item.kind,
        status=item.status, attempts=item.attempts, queued_at=iso(item.created) or "",
        next_attempt_at=iso(item.next_at) if item.status == "pending" else None,
        updated_at=iso(item.updated) or "", last_error=item.last_error,
    )


@router.get("/api/v1/deliveries", dependencies=READ)
async def list_deliveries(
    service: ServiceDep,
    status: Literal["pending", "delivered", "dead", "all"] = "all",
    supplier: str | None = None,
    target: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> DeliveryList:
    """Deliveries to webhooks and targets, newest first; `supplier` or `target` narrows them to one."""
    outbox = service.connectors.outbox
    wanted: list[tuple[str, str | None]] = [(_WEBHOOK, supplier)] if supplier is not None else []
    wanted += [(_TARGET, target)] if target is not None else []
    items: list[Item] = []
    for prefix, name in wanted or [(_WEBHOOK, None), (_TARGET, None)]:
        found = [] if outbox is None else outbox.items(
            status=None if status == "all" else status, consumer_prefix=prefix + (name or ""), limit=limit
        )
        items += [i for i in found if name is None or i.consumer == prefix + name]
    items = sorted(items, key=lambda i: i.id, reverse=True)[:limit]
    deliveries = [_delivery(i) for i in items]
    return DeliveryList(deliveries=deliveries, count=len(deliveries))


@router.post("/api/v1/deliveries/{delivery_id}/retry", dependencies=DELIVERIES, responses={404: {"model": ErrorOut}})
async def retry_delivery(delivery_id: RowId, service: ServiceDep) -> DeliveryOut:
    """Send a delivery again now, with a fresh attempt count (dead-lettered ones included)."""
    outbox = service.connectors.outbox
    found = outbox.get(delivery_id) if outbox is not None else None
    if found is None or not found.consumer.startswith((_WEBHOOK, _TARGET)):
        raise NotFoundError(f"no delivery with id {delivery_id}")
    item = await service.connectors.retry(delivery_id)
    assert item is not None
    return _delivery(item)


@router.get("/api/v1/outbox", dependencies=READ)
async def outbox_stats(service: ServiceDep) -> OutboxOut:
    """What waits in the outbox, what was delivered or dead-lettered, and what its size cap dropped."""
    outbox, influx = service.connectors.outbox, service.connectors.influx
    return OutboxOut(
        consumers={} if outbox is None else outbox.stats(),
        influx=None if influx is None else InfluxOut(
            reachable=influx.reachable, lines_queued=influx.stats.queued, lines_written=influx.stats.written,
            lines_rejected=influx.stats.rejected, lines_dropped=influx.stats.dropped,
        ),
    )
