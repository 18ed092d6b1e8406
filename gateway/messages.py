"""JSON bodies of what the service publishes: signals, alarms and dead letters."""

from __future__ import annotations

import base64
import json
from typing import Any

from connectors.webhook_payload import LoopInfo
from edge.timestamps import iso
from rules.events import Event, SensorRecovered, SensorStale, SignalChanged, SignalReleased

DEADLETTER_PAYLOAD_BYTES = 1024


def event_body(event: Event, ctx: LoopInfo, site: str) -> dict[str, Any]:
    """The published form of a rules event."""
    body: dict[str, Any] = {"type": event.kind, "site": site, "bin_id": event.bin_id, "ts": iso(event.ts)}
    match event:
        case SignalReleased():
            body |= {
                "signal_id": event.signal_id, "card": event.card, "sku": ctx.sku, "line": ctx.line,
                "station": ctx.station, "supplier": ctx.supplier, "quantity": ctx.quantity, "pieces": event.pieces,
                "by": event.by, "urgent": event.urgent, "stockout": event.stockout,
            }
        case SignalChanged():
            body |= {"signal_id": event.signal_id, "card": event.card, "by": event.by, "pieces": event.pieces}
            optional = {"quantity": event.quantity, "asn": event.asn, "reason": event.reason}
            body |= {key: value for key, value in optional.items() if value is not None}
        case SensorStale():
            body |= {"alarm": "sensor_stale", "last_seen": iso(event.last_seen)}
        case SensorRecovered():
            body |= {"alarm": "sensor_stale"}
    return body


_TOPIC_OF_KIND = {"wip_changed": "wip", "andon_changed": "andon"}


def event_topic(prefix: str, event_kind: str, bin_id: str) -> str:
    """The topic of a committed event: `<prefix>/signal|alarm|wip|andon/<bin, subject, station or line/station>`."""
    kind = "signal" if event_kind.startswith("signal") else _TOPIC_OF_KIND.get(event_kind, "alarm")
    return f"{prefix}/{kind}/{bin_id}"


def deadletter_body(*, topic: str, payload: bytes, reason: str, detail: str, received_at: float) -> bytes:
    """A rejected message with the reason, its topic and (the start of) its payload."""
    head = payload[:DEADLETTER_PAYLOAD_BYTES]
    body: dict[str, Any] = {
        "reason": reason, "detail": detail, "topic": topic, "received_at": iso(received_at),
        "payload_bytes": len(payload),
    }
    try:
        body["payload"] = head.decode("utf-8")
    except UnicodeDecodeError:
        body["payload_base64"] = base64.b64encode(head).decode("ascii")
    return json.dumps(body).encode()
