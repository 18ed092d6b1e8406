"""Supplier webhooks, the pure part: which events a supplier gets, the versioned body, the signature.

The body and headers are documented for suppliers in docs/WEBHOOKS.md; change them only with a new
`schema` version.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

SCHEMA = "kanban-edge.webhook.v1"
URGENT = "urgent"


class LoopInfo(Protocol):
    """What the plant file says about a kanban loop, to complete event bodies that only name it. The service
    hands over the rules' `BinSpec` of each loop: no second record per loop."""

    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def supplier(self) -> str | None: ...
    @property
    def line(self) -> str: ...
    @property
    def station(self) -> str: ...


def event_id(site: str, seq: int) -> str:
    """The stable id of a committed event: the same on every delivery attempt and after restarts."""
    return f"{site}:{seq}"


def loop_of(body: Mapping[str, Any]) -> str | None:
    """The loop (bin) an event is about, if any."""
    loop = body.get("loop") or body.get("bin_id")
    return str(loop) if loop else None


def supplier_of(body: Mapping[str, Any], loops: Mapping[str, LoopInfo]) -> str | None:
    """The supplier an event concerns: named in the body, else the supplier of its loop's item."""
    supplier = body.get("supplier")
    if supplier:
        return str(supplier)
    loop = loop_of(body)
    info = loops.get(loop) if loop else None
    return info.supplier if info else None


def wants(selectors: frozenset[str], body: Mapping[str, Any]) -> bool:
    """Whether a supplier subscribed to `selectors` gets this event: its type, or `urgent` for urgent ones."""
    return body.get("type") in selectors or (URGENT in selectors and body.get(URGENT) is True)


def webhook_body(
    body: Mapping[str, Any], *, site: str, loops: Mapping[str, LoopInfo], lead_time_h: float,
    public_url: str | None,
) -> dict[str, Any]:
    """The JSON body a supplier receives for one committed event."""
    loop = loop_of(body)
    info = loops.get(loop) if loop else None
    time = str(body["ts"])
    signal_id = body.get("signal_id")
    links: dict[str, str] = {}
    if public_url:
        base = public_url.rstrip("/")
        if signal_id:
            links["signal"] = f"{base}/api/v1/signals/{signal_id}"
        if loop:
            links["loop"] = f"{base}/api/v1/bins/{loop}"
    due = datetime.fromisoformat(time) + timedelta(hours=lead_time_h)
    return {
        "schema": SCHEMA,
        "event_id": event_id(site, int(body["seq"])),
        "type": body["type"],
        "time": time,
        "site": site,
        "loop": loop,
        "signal_id": signal_id,
        "sku": body.get("sku") or (info.sku if info else None),
        "quantity": body.get("quantity") or (info.quantity if info else None),
        "urgent": body.get(URGENT) is True,
        "due_by": due.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "links": links,
        "event": dict(body),
    }


def encode(body: Mapping[str, Any]) -> str:
    """The exact text sent (and signed)."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of `<timestamp>.<body>` with the supplier's secret."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(*, secret: str, timestamp: int, body: bytes, key: str, event_type: str) -> dict[str, str]:
    """Headers of one delivery attempt."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "kanban-edge-webhook/1",
        "Idempotency-Key": key,
        "X-Kanban-Event": event_type,
        "X-Kanban-Timestamp": str(timestamp),
        "X-Kanban-Signature": signature(secret, timestamp, body),
    }
