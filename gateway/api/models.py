"""What the API returns. Times are ISO 8601 UTC."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The `error` member of every error answer."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer: `{"error": {"code": ..., "message": ...}}`."""

    error: ErrorBody


class SignalOut(BaseModel):
    """A kanban pull signal: one card released for one container."""

    id: str
    bin_id: str
    sku: str
    line: str
    station: str
    supplier: str | None
    quantity: int
    status: Literal["open", "closed"]
    released_at: str
    pieces_at_release: int
    closed_at: str | None
    pieces_at_close: int | None
    close_reason: str | None


class SignalList(BaseModel):
    """A page of signals, newest first."""

    signals: list[SignalOut]
    count: int


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
    armed: bool
    open_signal: SignalOut | None


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


class Counters(BaseModel):
    """Ingest counters since the database was created."""

    processed_since_start: int
    rejected: dict[str, int]
