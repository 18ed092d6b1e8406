"""What the API returns about stations and alarms. Times are ISO 8601 UTC."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rules.limits import MAX_COUNT


class StationOut(BaseModel):
    """A station's work in process, its levels, state and throughput."""

    id: str
    line: str
    wip: int
    wip_warning: int | None
    wip_limit: int | None
    state: Literal["normal", "warning", "limit"]
    units_in: int
    units_out: int
    in_per_hour: float = Field(description="units counted in during the last hour")
    out_per_hour: float = Field(description="units counted out during the last hour")
    updated_at: str | None


class StationList(BaseModel):
    """Every configured station."""

    stations: list[StationOut]
    count: int


class WipCount(BaseModel):
    """A physical count of the units at a station."""

    wip: int = Field(ge=0, le=MAX_COUNT)


class AlarmOut(BaseModel):
    """An alarm of a station, PLC or bin."""

    id: int
    kind: str
    subject: str
    status: Literal["active", "acknowledged", "cleared"]
    detail: str
    raised_at: str
    acknowledged_at: str | None
    cleared_at: str | None


class AlarmList(BaseModel):
    """Alarms, newest first."""

    alarms: list[AlarmOut]
    count: int


class AndonOut(BaseModel):
    """A station's Andon colour and what it is made of."""

    line: str
    station: str
    colour: Literal["green", "yellow", "red", "blue"]
    wip: Literal["normal", "warning", "limit"]
    open_calls: int
    stockout: bool
    material_call: bool


class AndonList(BaseModel):
    """Every station's Andon colour."""

    stations: list[AndonOut]
    count: int
