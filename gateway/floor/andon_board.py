"""Andon colours of every station: from its WIP state, its bins and its material call, on every tick.

A tick re-evaluates only the stations whose inputs changed since the last one: the service marks the bins
and stations it saw change (readings, committed events, material calls). A station is a configured station
(`<line>/<id>`) or a line and station named by bins. Each colour change is committed as an `andon_changed`
event and published, retained, on `<prefix>/andon/<line>/<station>`, and the colour is saved with it. After
a start-up every station is evaluated again against its saved colour: only those that changed while the
service was down (or have none yet: `previous` null) get an event. A refresh stages at most
`CHANGES_PER_COMMIT` colour changes and the service refreshes again only once they are committed, up to
`MAX_CHANGES` a tick; the other marked stations stay marked. So a write of Andon changes stays small (a
signal committed behind it waits little), and the first start of a large plant spreads its first colours
over a few ticks instead of holding them all in memory at once.

The board is laid out for plants of tens of thousands of stations: stations are numbered and held in
parallel lists (line, name, colour, where its bins start), and per-bin state is in arrays indexed by the
bin's number in the plant, so a station or a bin costs a few pointers or ints rather than a key string, a
tuple and an entry in several dicts.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping

from config.plant import PlantConfig
from gateway.floor.shop_floor import ShopFloor
from gateway.state.committer import Committer
from rules.andon import AndonInputs, Colour, andon_colour
from rules.engine import Engine
from rules.events import AndonChanged
from rules.floor import FloorChange
from rules.scale_bin import BinState

CHANGES_PER_COMMIT = 100  # colour changes staged by one refresh
MAX_CHANGES = 5000  # colour changes committed in one tick


def bin_calls(state: BinState) -> tuple[int, int | None]:
    """Open kanban cards and pieces of a bin: the one place that reads a bin's card state."""
    return len(state.open_cards), state.pieces


def _calls_of(state: BinState) -> int:
    """What a bin adds to its station's colour, as one small int: open cards × 2, plus 1 when it is empty."""
    open_cards, pieces = bin_calls(state)
    return open_cards * 2 + (pieces == 0)


class AndonBoard:
    """The current colour of every station, re-evaluated by `refresh`."""

    def __init__(
        self, *, config: PlantConfig, engine: Engine, floor: ShopFloor, committer: Committer,
        saved: Mapping[str, Colour] | None = None, max_changes: int = CHANGES_PER_COMMIT,
    ) -> None:
        self._floor = floor
        self._committer = committer
        self._max_changes = max_changes
        self._engine = engine
        numbers: dict[str, dict[str, int]] = {}  # line → station → station number, while building
        self._configured: dict[int, str] = {}  # station number → configured station id
        self._numbers_of_id: dict[str, list[int]] = {}  # configured station id → its numbers (one per line)
        self._lines: list[str] = []
        self._names: list[str] = []

        def number_of(line: str, name: str) -> int:
            of_line = numbers.setdefault(line, {})
            s = of_line.get(name)
            if s is None:
                s = of_line[name] = len(self._lines)
                self._lines.append(line)
                self._names.append(name)
            return s

        for configured in config.stations:
            s = number_of(configured.line, configured.id)
            self._configured[s] = configured.id
            self._numbers_of_id.setdefault(configured.id, []).append(s)
        # Per bin, by its number in the plant (`ScaleBin.number`): the bin, its station, `_calls_of` when last
        # looked at. Per station s: its bins' numbers at _members[_start[s]:_start[s + 1]].
        self._bins = engine.by_number
        self._station_of = array("i", [number_of(b.spec.line, b.spec.station) for b in self._bins])
        self._calls = array("i", [_calls_of(b.state) for b in self._bins])
        stations = len(self._lines)
        self._start = array("i", bytes(4 * (stations + 1)))
        for s in self._station_of:
            self._start[s + 1] += 1
        for s in range(stations):
            self._start[s + 1] += self._start[s]
        self._members = array("i", bytes(4 * len(self._bins)))
        free = self._start[:-1]  # the next free place of each station
        for i, s in enumerate(self._station_of):
            self._members[free[s]] = i
            free[s] += 1
        self._marked = bytearray([1]) * stations  # due for the next refresh: all at start
        self._due = array("i", range(stations))  # marked stations, in the order they were marked
        self._colours: list[Colour | None] = [None] * stations
        for key, colour in (saved or {}).items():  # a line or station id has no "/" (`Ident`)
            line, _, name = key.partition("/")
            if (found := numbers.get(line, {}).get(name)) is not None:
                self._colours[found] = colour

    def _key(self, s: int) -> str:
        return f"{self._lines[s]}/{self._names[s]}"

    def _mark(self, s: int) -> None:
        if not self._marked[s]:
            self._marked[s] = 1
            self._due.append(s)

    def bins_changed(self, bin_ids: Iterable[str]) -> None:
        """Re-evaluate, at the next refresh, the stations of those of these bins whose open cards or stockout
        changed (unknown ids are ignored)."""
        engine = self._engine
        self.numbers_changed(b.number for bin_id in bin_ids if (b := engine.get(bin_id)) is not None)

    def numbers_changed(self, numbers: Iterable[int]) -> None:
        """`bins_changed` for bins given by their number in the plant (`ScaleBin.number`)."""
        bins, calls = self._bins, self._calls
        for i in numbers:
            now = _calls_of(bins[i].state)
            if now != calls[i]:
                calls[i] = now
                self._mark(self._station_of[i])

    def stations_changed(self, station_ids: Iterable[str]) -> None:
        """Re-evaluate these configured stations at the next refresh (unknown ids are ignored)."""
        for station_id in station_ids:
            for s in self._numbers_of_id.get(station_id, ()):
                self._mark(s)

    def _inputs(self, s: int) -> AndonInputs:
        calls, stockout = 0, False
        bins = self._bins
        for i in self._members[self._start[s]:self._start[s + 1]]:
            open_cards, pieces = bin_calls(bins[i].state)
            calls += open_cards
            stockout = stockout or pieces == 0
        station_id = self._configured.get(s)
        if station_id is None:
            return AndonInputs(open_calls=calls, stockout=stockout)
        return AndonInputs(
            wip=self._floor.rules.station_state(station_id), open_calls=calls, stockout=stockout,
            material_call=self._floor.material_calls.get(station_id, False),
        )

    def stations(self) -> Iterator[tuple[str, str, Colour, AndonInputs]]:
        """Line, station, published colour and current inputs of every station that has a colour."""
        for line, name, colour, inputs in self.every_station():
            if colour is not None:
                yield line, name, colour, inputs

    def every_station(self) -> Iterator[tuple[str, str, Colour | None, AndonInputs]]:
        """Line, station, published colour (None until the first refresh after start-up has given it one) and
        current inputs of every station."""
        for s, colour in enumerate(self._colours):
            yield self._lines[s], self._names[s], colour, self._inputs(s)

    def colours(self) -> dict[str, Colour]:
        """The colour of every station that has one, by `<line>/<station>`."""
        return {self._key(s): colour for s, colour in enumerate(self._colours) if colour is not None}

    def refresh(self, now: float) -> list[AndonChanged]:
        """Stage an `andon_changed` event for every marked station whose colour changed, up to the board's
        maximum; returns those changes."""
        events: list[AndonChanged] = []
        due, colours, looked_at = self._due, self._colours, 0
        for s in due:
            looked_at += 1
            self._marked[s] = 0
            colour = andon_colour(self._inputs(s))
            previous = colours[s]
            if colour != previous:
                colours[s] = colour
                events.append(AndonChanged(subject=self._key(s), ts=now, colour=colour, previous=previous))
                if len(events) == self._max_changes:
                    break
        self._due = due[looked_at:]
        if events:
            self._committer.stage_floor(FloorChange(events=list(events)), [self._floor.body(e) for e in events])
        return events
