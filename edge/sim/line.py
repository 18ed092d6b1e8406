"""The parts counters of simulated lines, pure: each station passes parts on so its WIP stays near a target,
and one line jams a station now and then until its WIP is past the limit.

Every counter point that is a station's output runs at the takt plus a correction towards the station's
target WIP (half its warning level); a counter that is no station's output feeds the line at the takt. A jam
slows one station's outputs to a trickle until its WIP passes `wip_limit + hysteresis`, then lets the line
catch up. Time here is wall-clock time: a part a second keeps the Andon board readable at any speed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from config.floor import Station

TAKT_PER_S = 1.0
"""Parts per second through every station of a line."""
CATCH_UP_S = 10.0
"""A station works off a WIP above its target within about this long."""
JAM_EVERY_S = 90.0
"""Time between the end of one jam and the start of the next."""
FIRST_JAM_S = 30.0
"""When the first jam starts: once the line has filled."""
JAM_RATE = 0.15
"""A jammed station's output, as a share of the takt."""
DEFAULT_TARGET = 10
"""The WIP a station without warning or limit levels keeps."""


@dataclass(slots=True)
class _Station:
    spec: Station
    target: float

    @property
    def jam_until(self) -> int:
        """The WIP a jam builds before it clears: past the limit's hysteresis band."""
        limit = self.spec.wip_limit or self.spec.wip_warning or DEFAULT_TARGET * 2
        return limit + self.spec.hysteresis + 2


@dataclass(slots=True)
class LineModel:
    """Counter totals of every counter point the stations name, advanced step by step."""

    stations: list[Station]
    totals: dict[str, float] = field(default_factory=dict)  # `<plc>/<point>` → parts counted since start
    jammed: str | None = None  # the station jammed now
    _since: float = JAM_EVERY_S - FIRST_JAM_S  # seconds since the last jam ended
    _turn: int = 0
    _model: dict[str, _Station] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s in self.stations:
            self._model[s.id] = _Station(s, (s.wip_warning or s.wip_limit or 2 * DEFAULT_TARGET) / 2)
            for ref in (*s.in_counters, *s.out_counters):
                self.totals.setdefault(ref, 0.0)

    def wip(self, station_id: str) -> int:
        """WIP of a station as the service counts it: whole parts in minus whole parts out."""
        s = self._model[station_id].spec
        return sum(int(self.totals[r]) for r in s.in_counters) - sum(int(self.totals[r]) for r in s.out_counters)

    def step(self, dt_s: float) -> None:
        """Advance every counter by `dt_s` seconds."""
        self._jam(dt_s)
        rates = dict.fromkeys(self.totals, TAKT_PER_S)
        for st in self._model.values():
            outs = st.spec.out_counters
            if not outs:
                continue
            if st.spec.id == self.jammed:
                rate = TAKT_PER_S * JAM_RATE
            else:
                rate = min(3 * TAKT_PER_S, max(0.0, TAKT_PER_S + (self.wip(st.spec.id) - st.target) / CATCH_UP_S))
            for ref in outs:
                rates[ref] = rate / len(outs)
        for ref, rate in rates.items():
            self.totals[ref] += rate * dt_s

    def _jam(self, dt_s: float) -> None:
        if self.jammed is not None:
            if self.wip(self.jammed) >= self._model[self.jammed].jam_until:
                self.jammed, self._since = None, 0.0
            return
        self._since += dt_s
        candidates = self._jam_candidates()
        if self._since >= JAM_EVERY_S and candidates:
            self.jammed = candidates[self._turn % len(candidates)]
            self._turn += 1

    def _jam_candidates(self) -> list[str]:
        """The stations of the first line (by name) that has a WIP limit and outputs: one line jams."""
        limited = sorted({s.line for s in self.stations if s.wip_limit is not None and s.out_counters})
        if not limited:
            return []
        return [s.id for s in self.stations if s.line == limited[0] and s.out_counters]
