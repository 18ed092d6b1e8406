"""Webhook bodies and signatures, checked with the verification snippet suppliers are given."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.webhook_payload import encode, headers, supplier_of, wants, webhook_body
from tests.loops import loop_info

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"
LOOPS = {"B1": loop_info(sku="BOLT", quantity=100, supplier="acme", line="L1", station="S1")}
Verify = Callable[..., bool]


@pytest.fixture(scope="module")
def verify() -> Verify:
    """The `verify` function exactly as docs/WEBHOOKS.md shows it."""
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    fn: Verify = namespace["verify"]
    return fn


def test_documented_snippet_accepts_our_signature_and_rejects_tampering(verify: Verify) -> None:
    body = b'{"event_id":"p:1"}'
    now = int(time.time())
    sent = headers(secret="s3cret-s3cret-s3cret", timestamp=now, body=body, key="p:1", event_type="signal_released")
    assert sent["Idempotency-Key"] == "p:1"
    assert verify("s3cret-s3cret-s3cret", sent, body)
    assert not verify("s3cret-s3cret-s3cret", sent, body + b" ")
    assert not verify("another-secret-entirely", sent, body)
    assert not verify("s3cret-s3cret-s3cret", sent | {"X-Kanban-Timestamp": str(now - 1)}, body)
    old = headers(secret="s3cret-s3cret-s3cret", timestamp=now - 3600, body=body, key="p:1", event_type="x")
    assert not verify("s3cret-s3cret-s3cret", old, body)


def test_body_completes_a_bare_event_from_the_plant_file() -> None:
    event = {"type": "signal_cancelled", "seq": 42, "ts": "2026-11-27T10:00:00.000Z", "site": "p7",
             "bin_id": "B1", "signal_id": "B1-3", "reason": "operator"}
    body = webhook_body(event, site="p7", loops=LOOPS, lead_time_h=24, public_url="https://edge.example/")
    assert json.loads(encode(body)) == {
        "schema": "kanban-edge.webhook.v1", "event_id": "p7:42", "type": "signal_cancelled",
        "time": "2026-11-27T10:00:00.000Z", "site": "p7", "loop": "B1", "signal_id": "B1-3", "sku": "BOLT",
        "quantity": 100, "urgent": False, "due_by": "2026-11-28T10:00:00.000Z",
        "links": {"signal": "https://edge.example/api/v1/signals/B1-3", "loop": "https://edge.example/api/v1/bins/B1"},
        "event": event,
    }


def test_routing_by_type_urgent_flag_and_supplier() -> None:
    released = {"type": "signal_released", "bin_id": "B1"}
    urgent = {"type": "signal_released", "loop": "B1", "urgent": True}
    assert wants(frozenset({"signal_released"}), released)
    assert not wants(frozenset({"urgent"}), released)
    assert wants(frozenset({"urgent"}), urgent)
    assert not wants(frozenset({"signal_cancelled"}), {"type": "alarm_raised"})
    assert supplier_of(released, LOOPS) == "acme"
    assert supplier_of({"type": "x", "supplier": "other", "bin_id": "B1"}, LOOPS) == "other"
    assert supplier_of({"type": "wip_changed", "station": "S1"}, LOOPS) is None
