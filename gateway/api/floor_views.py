"""Read models of stations and alarms for the API."""

from __future__ import annotations

from typing import Any

from edge.timestamps import iso
from gateway.api.floor_models import AlarmOut, AndonOut, StationOut
from gateway.floor.andon_board import AndonBoard
from gateway.floor.shop_floor import ShopFloor


def station_out(floor: ShopFloor, station_id: str, now: float) -> StationOut:
    """One configured station with its live WIP and state."""
    station = floor.rules.stations[station_id]
    st, spec = station.state, station.spec
    return StationOut(
        id=station_id, line=spec.line, wip=st.wip, wip_warning=spec.wip_warning, wip_limit=spec.wip_limit,
        state=floor.rules.station_state(station_id), units_in=st.units_in, units_out=st.units_out,
        in_per_hour=station.rate_in.per_hour(now), out_per_hour=station.rate_out.per_hour(now),
        updated_at=iso(st.updated_at),
    )


def alarm_out(row: dict[str, Any]) -> AlarmOut:
    """A stored alarm row as the API shows it."""
    return AlarmOut.model_validate(
        row | {"raised_at": iso(row["raised_at"]), "acknowledged_at": iso(row["acknowledged_at"]),
               "cleared_at": iso(row["cleared_at"])}
    )


def andon_out(board: AndonBoard) -> list[AndonOut]:
    """Every station's published colour and its current inputs."""
    return [
        AndonOut(
            line=line, station=station, colour=colour, wip=inputs.wip, open_calls=inputs.open_calls,
            stockout=inputs.stockout, material_call=inputs.material_call,
        )
        for line, station, colour, inputs in board.stations()
    ]
