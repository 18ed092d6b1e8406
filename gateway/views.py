"""Read models for the API, built from the rules' live state, the config and the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.api.models import BinOut, SignalOut
from gateway.messages import iso

if TYPE_CHECKING:
    from gateway.service import Service


def signal_out(row: dict[str, Any]) -> SignalOut:
    """A stored signal row as the API shows it."""
    return SignalOut.model_validate(
        row | {"released_at": iso(row["released_at"]), "closed_at": iso(row["closed_at"])}
    )


def bin_out(service: Service, bin_id: str) -> BinOut | None:
    """One bin with its live level and open signal, or None for an unknown id."""
    scale_bin = service.engine.get(bin_id)
    if scale_bin is None:
        return None
    cfg = service.bin_config[bin_id]
    item = service.item_config[cfg.sku]
    st = scale_bin.state
    open_row = service.store.signal(st.open_signal) if st.open_signal else None
    return BinOut(
        id=bin_id, sku=cfg.sku, description=item.description, line=cfg.line, station=cfg.station,
        supplier=item.supplier, container_qty=cfg.container_qty, cards=cfg.cards,
        reorder_point=cfg.reorder_point, reset_point=cfg.reset, capacity_pieces=cfg.capacity,
        pieces=st.pieces, weight_g=st.weight_g, level_pct=scale_bin.level_pct, stale=st.stale,
        last_reading_at=iso(st.last_ts), armed=st.armed,
        open_signal=signal_out(open_row) if open_row else None,
    )
