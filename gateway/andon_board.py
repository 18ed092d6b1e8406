"""Andon colours of every station: from its WIP state, its bins and its material call, on every tick.

A tick re-evaluates only the stations whose inputs changed since the last one: the service marks the bins
and stations it saw change (readings, committed events, material calls). A station is a configured station
(`<line>/<id>`) or a line and station named by bins. Each colour change is committed as an `andon_changed`
event and published, retained, on `<prefix>/andon/<line>/<station>`, and the colour is saved with it. After
a start-up every station is evaluated again against its saved colour: only those that changed while the
service was down (or have none yet: `previous` null) get an event. A refresh commits at most
`MAX_CHANGES` colour changes; the other marked stations stay marked for the next one, so the first start of
a large plant spreads its first colours over a few ticks instead of holding them all in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice

from gateway.committer import Committer
from gateway.config import PlantConfig
from gateway.shop_floor import ShopFloor
from rules.andon import AndonInputs, Colour, andon_colour
from rules.engine import Engine
from rules.events import AndonChanged
from rules.floor import FloorChange
from rules.scale_bin import BinState, ScaleBin

MAX_CHANGES = 5000  # colour changes committed by one refresh

def bin_calls(state: BinState) -> tuple[int, int | None]:
    """Open kanban cards and pieces of a bin: the one place that reads a bin's card state."""
    return len(state.open_cards), state.pieces


def _calls_of(state: BinState) -> int:
    """What a bin adds to its station's colour, as one small int (a cached object, nothing allocated per
    bin): open cards × 2, plus 1 when the bin is empty."""
    open_cards, pieces = bin_calls(state)
    return open_cards * 2 + (pieces == 0)


class AndonBoard:
    """The current colour of every station, re-evaluated by `refresh`."""

    def __init__(
        self, *, config: PlantConfig, engine: Engine, floor: ShopFloor, committer: Committer,
        saved: Mapping[str, Colour] | None = None, max_changes: int = MAX_CHANGES,
    ) -> None:
        self._floor = floor
        self._committer = committer
        self._max_changes = max_changes
        self._engine = engine
        self._stations: dict[str, str] = {}  # key → configured station id
        self._keys_of_station: dict[str, list[str]] = {}  # configured station id → keys
        self._key_of_bin: dict[str, str] = {}
        self._calls: dict[str, int] = {}  # bin → `_calls_of` when last looked at
        bins: dict[str, list[ScaleBin]] = {}
        for station in config.stations:
            key = f"{station.line}/{station.id}"
            self._stations[key] = station.id
            self._keys_of_station.setdefault(station.id, []).append(key)
            bins.setdefault(key, [])
        for bin_ in config.bins:
            scale_bin = engine.get(bin_.id)
            if scale_bin is not None:
                key = f"{bin_.line}/{bin_.station}"
                self._key_of_bin[bin_.id] = key
                self._calls[bin_.id] = _calls_of(scale_bin.state)
                bins.setdefault(key, []).append(scale_bin)
        # The engine's bins of each station, held so a refresh looks nothing up (tuples: half a list's size).
        self._bins = {key: tuple(station_bins) for key, station_bins in bins.items()}
        self._due: dict[str, None] = dict.fromkeys(self._bins)  # keys to re-evaluate, in order; all at start
        saved = saved or {}
        self.colours: dict[str, Colour] = {key: saved[key] for key in self._bins if key in saved}

    def bins_changed(self, bin_ids: Iterable[str]) -> None:
        """Re-evaluate, at the next refresh, the stations of those of these bins whose open cards or stockout
        changed (unknown ids are ignored)."""
        calls, due, engine = self._calls, self._due, self._engine
        for bin_id in bin_ids:
            scale_bin = engine.get(bin_id)
            if scale_bin is None:
                continue
            now = _calls_of(scale_bin.state)
            if now != calls[bin_id]:
                calls[bin_id] = now
                due[self._key_of_bin[bin_id]] = None

    def stations_changed(self, station_ids: Iterable[str]) -> None:
        """Re-evaluate these configured stations at the next refresh (unknown ids are ignored)."""
        for station_id in station_ids:
            self._due.update(dict.fromkeys(self._keys_of_station.get(station_id, ())))

    def inputs(self, key: str) -> AndonInputs:
        """What the station's colour is made of now."""
        calls, stockout = 0, False
        for scale_bin in self._bins[key]:
            open_cards, pieces = bin_calls(scale_bin.state)
            calls += open_cards
            stockout = stockout or pieces == 0
        station_id = self._stations.get(key)
        if station_id is None:
            return AndonInputs(open_calls=calls, stockout=stockout)
        return AndonInputs(
            wip=self._floor.rules.station_state(station_id), open_calls=calls, stockout=stockout,
            material_call=self._floor.material_calls.get(station_id, False),
        )

    def refresh(self, now: float) -> list[AndonChanged]:
        """Stage an `andon_changed` event for every marked station whose colour changed, up to the board's
        maximum; returns those changes."""
        events: list[AndonChanged] = []
        due, looked_at = self._due, 0
        for key in due:
            looked_at += 1
            colour = andon_colour(self.inputs(key))
            previous = self.colours.get(key)
            if colour != previous:
                self.colours[key] = colour
                events.append(AndonChanged(subject=key, ts=now, colour=colour, previous=previous))
                if len(events) == self._max_changes:
                    break
        self._due = dict.fromkeys(islice(due, looked_at, None)) if looked_at < len(due) else {}
        if events:
            self._committer.stage_floor(FloorChange(events=list(events)), [self._floor.body(e) for e in events])
        return events
