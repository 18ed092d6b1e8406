"""What the API returns. Times are ISO 8601 UTC."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

from rules.cards import SignalStatus
from rules.limits import MAX_COUNT, MAX_ID

RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""An id of a stored row (alarm, delivery) in a path: within SQLite's integers, so a lookup never overflows."""


class ErrorBody(BaseModel):
    """The `error` member of every error answer."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code": ..., "message": ...}}`."""

    error: ErrorBody


class TransitionOut(BaseModel):
    """One step in a signal's life: what happened, when, by whom or what."""

    kind: str
    status: SignalStatus
    at: str
    by: str
    detail: dict[str, Any]


class DocumentOut(BaseModel):
    """A document a delivery target made for the signal in its system (docs/ERP.md)."""

    target: str
    document_id: str
    created_at: str
    cancelled_at: str | None


class SignalOut(BaseModel):
    """A kanban pull signal: one card released for one container, and where it stands."""

    id: str
    bin_id: str
    card: int
    sku: str
    line: str
    station: str
    supplier: str | None
    quantity: int
    status: SignalStatus
    open: bool
    released_at: str
    released_by: str
    pieces_at_release: int | None
    urgent: bool
    stockout: bool
    acknowledged_at: str | None
    shipped_at: str | None
    shipped_qty: int | None
    asn: str | None
    closed_at: str | None
    pieces_at_close: int | None
    close_reason: str | None
    transitions: list[TransitionOut]
    documents: list[DocumentOut]  # made by delivery targets: an ERPNext Material Request, an Odoo order, ...


class SignalList(BaseModel):
    """A page of signals, newest first; `next_cursor` fetches the next page (null on the last)."""

    signals: list[SignalOut]
    count: int
    next_cursor: str | None


class ActionIn(BaseModel):
    """Optional body of a lifecycle POST: who is acting (kept on the transition)."""

    by: str | None = Field(default=None, min_length=1, max_length=100)  # default: the key's name, else "api"


class ShipIn(ActionIn):
    """Optional body of a ship POST."""

    quantity: int | None = Field(default=None, ge=1, le=MAX_COUNT)
    asn: str | None = Field(default=None, min_length=1, max_length=100)


class BinOut(BaseModel):
    """A bin (kanban loop) and its live level."""

    id: str
    sku: str
    description: str
    line: str
    station: str
    supplier: str | None
    container_qty: int
    cards: int
    reorder_point: int
    reset_point: int
    capacity_pieces: int
    pieces: int | None
    weight_g: float | None
    level_pct: float | None
    stale: bool
    last_reading_at: str | None
    armed: bool  # another card can be released
    open_cards: int
    open_signal: SignalOut | None  # the oldest open one


class CardOut(BaseModel):
    """One card of a loop: at home (in the bin) or out on a signal."""

    card: int
    status: Literal["home"] | SignalStatus
    signal_id: str | None
    released_at: str | None


class LoopOut(BaseModel):
    """A kanban loop: N cards of `container_qty` pieces of one sku at one point of use, and its live state."""

    id: str
    sku: str
    description: str
    line: str
    station: str
    supplier: str | None
    lead_time_h: float | None
    container_qty: int
    cards: int
    reorder_point: int
    reset_point: int
    safety_stock: int
    capacity_pieces: int
    pieces: int | None
    level_pct: float | None
    stale: bool
    urgent: bool  # level at or below safety stock
    stockout: bool  # no pieces left
    open_cards: int
    card_states: list[CardOut]


class LoopList(BaseModel):
    """All loops."""

    loops: list[LoopOut]
    count: int


class KpisOut(BaseModel):
    """Key figures over the analytics window (docs/ANALYTICS.md)."""

    stockouts: int
    stockout_minutes: float
    received: int
    on_time_rate: float | None
    avg_signal_to_receipt_h: float | None
    cards_per_day: float | None


class DailyUsageOut(BaseModel):
    """Pieces consumed per whole day in the window."""

    days: int
    avg: float | None
    max: int | None


class LeadTimeOut(BaseModel):
    """The supplier's promised lead time and the mean measured one (None before a receipt)."""

    promised: float
    measured: float | None


class ConfiguredSizeOut(BaseModel):
    """The loop as configured."""

    cards: int
    container_qty: int
    reorder_point: int
    safety_stock: int
    predictive_margin_h: float | None


class RecommendedSizeOut(BaseModel):
    """The loop as the measurements size it; None where there is not enough history yet."""

    demand_per_h: float | None
    lead_time_h: float
    cards: int | None
    safety_stock_peak: float | None
    safety_stock_service: float | None
    reorder_point_peak: int | None
    reorder_point_service: int | None


class LoopAnalyticsOut(BaseModel):
    """Consumption, time to empty, lead time, recommended sizing beside the configured one, and KPIs."""

    loop: str
    samples: int
    consumption_rate_per_h: float | None
    time_to_empty_h: float | None
    daily_usage: DailyUsageOut
    lead_time_h: LeadTimeOut
    configured: ConfiguredSizeOut
    recommended: RecommendedSizeOut
    kpis: KpisOut


class KpisReport(BaseModel):
    """KPIs per loop and per supplier."""

    loops: dict[str, KpisOut]
    suppliers: dict[str, KpisOut]


class BinList(BaseModel):
    """All bins."""

    bins: list[BinOut]
    count: int


class Health(BaseModel):
    """Liveness of the parts an operator cares about."""

    status: Literal["ok", "degraded"]
    broker_connected: bool
    database_writable: bool
    database_error: str | None
    uptime_s: float


class Readiness(BaseModel):
    """Whether the service can take traffic, and what it is waiting for."""

    ready: bool
    plant_loaded: bool
    started_up: bool  # the first tick (stale checks, first Andon colours) is done
    broker_connected: bool
    database_writable: bool


class Counters(BaseModel):
    """Ingest counters since the database was created."""

    processed_since_start: int
    rejected: dict[str, int]
    event_stream_clients: int  # connected to /api/v1/events now
    event_stream_overflows: int  # of them disconnected for falling behind, since start
    sparkplug: dict[str, int] = {}  # Sparkplug B since start: rebirth_requests, sequence_gaps, data_before_birth, ...
