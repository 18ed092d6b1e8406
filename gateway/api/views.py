"""Read models for the API, built from the rules' live state, the config and the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.timestamps import iso
from gateway.api.models import BinOut, CardOut, LoopOut, SignalOut
from rules.cards import OPEN_STATUSES

if TYPE_CHECKING:
    from gateway.service import Service


_TIMES = ("released_at", "acknowledged_at", "shipped_at", "closed_at")


def signal_out(row: dict[str, Any]) -> SignalOut:
    """A stored signal row (with its transitions) as the API shows it."""
    times = {key: iso(row[key]) for key in _TIMES}
    steps = [step | {"at": iso(step["ts"])} for step in row["transitions"]]
    documents = [doc | {"created_at": iso(doc["created_at"]), "cancelled_at": iso(doc["cancelled_at"])}
                 for doc in row["documents"]]
    return SignalOut.model_validate(
        row | times | {"open": row["status"] in OPEN_STATUSES, "transitions": steps, "documents": documents}
    )


def bin_out(service: Service, bin_id: str) -> BinOut | None:
    """One bin with its live level and open signal, or None for an unknown id."""
    scale_bin = service.engine.get(bin_id)
    if scale_bin is None:
        return None
    cfg = scale_bin.spec
    item = service.item_config[cfg.sku]
    st = scale_bin.state
    open_row = service.store.signal(st.open_cards[0].signal_id) if st.open_cards else None
    return BinOut(
        id=bin_id, sku=cfg.sku, description=item.description, line=cfg.line, station=cfg.station,
        supplier=item.supplier, container_qty=cfg.container_qty, cards=cfg.cards,
        reorder_point=cfg.reorder_point, reset_point=cfg.reset_point, capacity_pieces=cfg.capacity_pieces,
        pieces=st.pieces, weight_g=st.weight_g, level_pct=scale_bin.level_pct, stale=st.stale,
        last_reading_at=iso(st.last_ts), armed=st.depth < cfg.cards and scale_bin.open_cards < cfg.cards,
        open_cards=scale_bin.open_cards, open_signal=signal_out(open_row) if open_row else None,
    )


def loop_out(service: Service, bin_id: str) -> LoopOut | None:
    """One loop with its cards and live level, or None for an unknown id."""
    scale_bin = service.engine.get(bin_id)
    if scale_bin is None:
        return None
    cfg = scale_bin.spec
    item = service.item_config[cfg.sku]
    supplier = service.supplier_config.get(item.supplier) if item.supplier else None
    st = scale_bin.state
    out = {card.number: card for card in st.open_cards}
    cards = [
        CardOut(card=n, status=out[n].status, signal_id=out[n].signal_id, released_at=iso(out[n].released_at))
        if n in out else CardOut(card=n, status="home", signal_id=None, released_at=None)
        for n in range(1, cfg.cards + 1)
    ]
    return LoopOut(
        id=bin_id, sku=cfg.sku, description=item.description, line=cfg.line, station=cfg.station,
        supplier=item.supplier, lead_time_h=supplier.lead_time_h if supplier else None,
        container_qty=cfg.container_qty, cards=cfg.cards, reorder_point=cfg.reorder_point,
        reset_point=cfg.reset_point, safety_stock=cfg.safety_stock, capacity_pieces=cfg.capacity_pieces,
        pieces=st.pieces, level_pct=scale_bin.level_pct,
        stale=st.stale, urgent=st.pieces is not None and st.pieces <= cfg.safety_stock, stockout=st.pieces == 0,
        open_cards=scale_bin.open_cards, card_states=cards,
    )
