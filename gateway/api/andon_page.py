"""The Andon board page for a wall TV: every station as a tile in its Andon colour, with its open kanban calls,
WIP against its limit and active alarms; kept live by the browser from the event stream.

The page is rendered here in full (it reads right even before its script runs) with the board's model as JSON
and the seq of the newest event at that moment; `static/andon.js` then opens `/api/v1/events` after that seq
and patches the tiles as events arrive: no reload, no polling. The model is read after the seq, so an event
the stream repeats is already in the page, and the script applies each event so that applying it twice
changes nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

from edge.timestamps import iso
from gateway.state.cards import SignalQuery

if TYPE_CHECKING:
    from gateway.service import Service

MAX_CALLS = 10_000
"""Open signals read for one page: a board of more calls than this would not be readable anyway."""
MAX_ALARMS = 1000
EVENT_TYPES = (
    "andon_changed", "wip_changed", "signal_released", "signal_acknowledged", "signal_shipped", "signal_received",
    "signal_cancelled", "alarm_raised", "alarm_acknowledged", "alarm_cleared", "sensor_stale", "sensor_recovered",
)
"""What the page listens to."""


@dataclass(slots=True)
class Call:
    """An open kanban card of a station's loop."""

    signal_id: str
    loop: str
    sku: str
    card: int
    status: str
    released_at: str
    urgent: bool
    stockout: bool
    documents: list[str] = field(default_factory=list)  # what delivery targets made of it in ERPs (docs/ERP.md)


@dataclass(slots=True)
class Alarm:
    """An open alarm shown on a tile (a station's, or a sensor's of one of its bins) or on the plant strip."""

    subject: str
    kind: str
    status: str
    raised_at: str
    detail: str


@dataclass(slots=True)
class Tile:
    """One station on the board."""

    line: str
    station: str
    colour: str  # "none" until the service has given the station its first colour after start-up
    wip: int | None = None
    wip_warning: int | None = None
    wip_limit: int | None = None
    stockout: bool = False
    material_call: bool = False
    calls: list[Call] = field(default_factory=list)
    alarms: list[Alarm] = field(default_factory=list)


def board(service: Service, line: str | None) -> dict[str, Any]:
    """The board's model: tiles by line (one line, or all), the plant-wide alarms and the seq it is as of."""
    after = service.store.last_event_seq()  # first: an event after it is applied again by the page, harmlessly
    floor = service.floor.rules.stations
    station_of = {(st.spec.line, sid): st for sid, st in floor.items()}
    tiles: dict[tuple[str, str], Tile] = {}
    for tile_line, station, colour, inputs in service.andon.every_station():
        if line is not None and tile_line != line:
            continue
        tile = tiles[(tile_line, station)] = Tile(tile_line, station, colour or "none", stockout=inputs.stockout,
                                                 material_call=inputs.material_call)
        if (counted := station_of.get((tile_line, station))) is not None:
            spec = counted.spec
            tile.wip, tile.wip_warning, tile.wip_limit = counted.state.wip, spec.wip_warning, spec.wip_limit
    for row in service.store.signals(SignalQuery(status="open", line=line, limit=MAX_CALLS)):
        if (called := tiles.get((row["line"], row["station"]))) is not None:
            called.calls.append(Call(row["id"], row["bin_id"], row["sku"], row["card"], row["status"],
                                   iso(row["released_at"]) or "", bool(row["urgent"]), bool(row["stockout"]),
                                   [doc["document_id"] for doc in row["documents"] if doc["cancelled_at"] is None]))
    plant_alarms = _place_alarms(service, tiles)
    lines: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (tile_line, _), tile in sorted(tiles.items()):
        tile.calls.sort(key=lambda call: call.released_at)
        lines[tile_line].append(asdict(tile))
    # Events name a station by its id, a sensor by its bin: where each is on this board.
    subjects = {sid: f"{st.spec.line}/{sid}" for sid, st in floor.items() if (st.spec.line, sid) in tiles}
    subjects |= {spec.bin_id: f"{spec.line}/{spec.station}" for spec in service.specs.values()
                 if (spec.line, spec.station) in tiles}
    return {
        "site": service.config.site, "line": line, "after": after, "event_types": list(EVENT_TYPES),
        "lines": [{"line": name, "stations": stations} for name, stations in lines.items()],
        "plant_alarms": [asdict(alarm) for alarm in plant_alarms], "subjects": subjects,
    }


def _place_alarms(service: Service, tiles: dict[tuple[str, str], Tile]) -> list[Alarm]:
    """Each open alarm on its station's tile (a bin's on its station's); a PLC's on the plant strip."""
    stations = {sid: (st.spec.line, sid) for sid, st in service.floor.rules.stations.items()}
    specs = service.specs
    plant: list[Alarm] = []
    for row in service.store.floor.alarms(open_only=True, limit=MAX_ALARMS):
        alarm = Alarm(row["subject"], row["kind"], row["status"], iso(row["raised_at"]) or "", row["detail"])
        spec = specs.get(row["subject"]) if row["kind"] == "sensor_stale" else None
        where = (spec.line, spec.station) if spec is not None else stations.get(row["subject"])
        if where is None:
            plant.append(alarm)
        elif (tile := tiles.get(where)) is not None:
            tile.alarms.append(alarm)
    return plant


def page(model: dict[str, Any]) -> str:
    """The whole page: header, tiles, the plant strip, and the model for the script."""
    line = model["line"]
    title = f"Andon · {model['site']}" + (f" · {line}" if line else "")
    sections = "".join(_line_html(entry) for entry in model["lines"]) or '<p class="empty">No stations.</p>'
    data = json.dumps(model).replace("</", "<\\/")  # inside <script>: never an end tag
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/andon/static/andon.css">
</head>
<body>
<header>
  <h1>{escape(title)}</h1>
  <div id="link" class="link live" role="status"><span class="dot"></span><span class="text">LIVE</span></div>
  <time id="clock"></time>
</header>
<main id="board">{sections}</main>
<footer><ul id="plant-alarms" class="alarms">{"".join(_alarm_html(a) for a in model["plant_alarms"])}</ul></footer>
<script type="application/json" id="board-data">{data}</script>
<script src="/andon/static/andon.js"></script>
</body>
</html>
"""


_WORD = {"green": "OK", "yellow": "CALL", "red": "STOP", "blue": "MATERIAL", "none": "…"}
"""A word beside each colour, for whoever cannot tell the colours apart."""


def _line_html(entry: dict[str, Any]) -> str:
    tiles = "".join(_tile_html(tile) for tile in entry["stations"])
    return f'<section class="line"><h2>{escape(entry["line"])}</h2><div class="tiles">{tiles}</div></section>'


def _tile_html(tile: dict[str, Any]) -> str:
    key = f'{tile["line"]}/{tile["station"]}'
    wip = ""
    if tile["wip"] is not None:
        limit = tile["wip_limit"]
        share = min(100, round(100 * tile["wip"] / limit)) if limit else 0
        wip = (f'<span class="wip"><span class="label">WIP</span> <b class="wip-value">{tile["wip"]}</b>'
               f'{f" / {limit}" if limit else ""}<span class="bar"><i style="width:{share}%"></i></span></span>')
    marks = "".join(f'<span class="mark">{word}</span>' for flag, word in (
        (tile["stockout"], "STOCKOUT"), (any(c["urgent"] for c in tile["calls"]), "URGENT"),
        (tile["material_call"], "MATERIAL CALL")) if flag)
    calls = "".join(_call_html(call) for call in tile["calls"])
    alarms = "".join(_alarm_html(alarm) for alarm in tile["alarms"])
    # --chars: the name is sized to fit the tile's width (andon.css); the word says the colour in letters.
    stockout, chars = "true" if tile["stockout"] else "false", max(4, len(tile["station"]))
    return (f'<article class="tile {tile["colour"]}" data-key="{escape(key)}" data-limit="{tile["wip_limit"] or ""}"'
            f' data-stockout="{stockout}" style="--chars:{chars}">'
            f'<div class="top"><div class="name">{escape(tile["station"])}</div>'
            f'<div class="head"><span class="word">{_WORD[tile["colour"]]}</span>{_summary(tile["calls"])}{wip}</div>'
            '</div>'
            f'<div class="marks">{marks}</div><ul class="calls">{calls}</ul><ul class="alarms">{alarms}</ul></article>')


def _summary(calls: list[dict[str, Any]]) -> str:
    """How many calls are open and (filled in by the page's script) the age of the oldest."""
    if not calls:
        return '<span class="summary"></span>'
    return (f'<span class="summary" data-since="{calls[0]["released_at"]}">{len(calls)}'
            f' call{"s" * (len(calls) > 1)} · <span class="age"></span></span>')


def _call_html(call: dict[str, Any]) -> str:
    flags = " urgent" * call["urgent"] + " stockout" * call["stockout"]
    return (f'<li class="call{flags}" data-signal="{escape(call["signal_id"])}" data-since="{call["released_at"]}">'
            f'{escape(call["sku"])} · card {call["card"]} · <span class="age"></span>'
            f'{"".join(f" · {escape(doc)}" for doc in call["documents"])}</li>')


def _alarm_html(alarm: dict[str, Any]) -> str:
    return (f'<li class="alarm {escape(alarm["status"])}" data-alarm="{escape(alarm["subject"])}|'
            f'{escape(alarm["kind"])}" data-since="{alarm["raised_at"]}">{escape(alarm["kind"].replace("_", " "))}'
            f' <span class="age"></span><span class="detail">{escape(alarm["detail"])}</span></li>')
