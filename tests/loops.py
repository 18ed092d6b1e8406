"""Loops for tests of the parts that complete event bodies: the record the service hands them (`BinSpec`)."""

from __future__ import annotations

from typing import Any

from gateway.messages import event_body
from rules.events import Event
from rules.scale_bin import BinSpec


def loop_info(*, sku: str, quantity: int, supplier: str | None, line: str, station: str) -> BinSpec:
    """A loop with this identity; its scale settings are plausible and play no part in these tests."""
    return BinSpec(
        bin_id="", unit_weight_g=1.0, tare_g=0.0, container_qty=quantity, cards=1, reorder_point=0,
        reset_point=1, capacity_pieces=quantity, sku=sku, line=line, station=station, supplier=supplier,
    )


LOOP = loop_info(sku="A", quantity=100, supplier="acme", line="L1", station="S1")


def logged(event: Event, loop: BinSpec = LOOP) -> tuple[Event, dict[str, Any]]:
    """An event with the body the service commits it with (`gateway.messages.event_body`)."""
    return event, event_body(event, loop, "test")
