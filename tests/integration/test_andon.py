"""Andon colours through the real broker: retained per station, following bins, WIP and the material call."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.floor.andon_board import CHANGES_PER_COMMIT
from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, messages, wait_for

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
items:
  - {{sku: BOLT, unit_weight_g: 10}}
bins:
  - {{id: B1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, debounce: {{readings: 1}}}}
  - {{id: B2, sku: BOLT, line: L1, station: S2, container_qty: 100, reorder_point: 30, debounce: {{readings: 1}}}}
plcs:
  - id: plc1
    heartbeat_s: 60
    points:
      - {{name: call, address: 0, type: bool, table: coil}}
stations:
  - {{id: S1, line: L1, wip_warning: 8, wip_limit: 10, material_call: plc1/call}}
"""


@pytest.fixture
def andon_gateway(broker: Broker, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, PLANT)
    gw.start()
    yield gw
    gw.stop()


def colours(gw: Gateway) -> dict[str, str]:
    return {f"{s['line']}/{s['station']}": s["colour"] for s in gw.get("/api/v1/andon").json()["stations"]}


def retained(broker: Broker, gw: Gateway, s1: str, s2: str) -> dict[str, dict[str, object]]:
    """What a light connecting receives once the colours are out: the retained colour of each station.

    The API shows a colour as soon as it is decided; it is published after its event is committed.
    """
    def current() -> dict[str, dict[str, object]] | None:
        sub = broker.subscribe(f"{gw.prefix}/andon/#", count=2, timeout_s=2)
        got = {topic.removeprefix(f"{gw.prefix}/andon/"): body for topic, body in messages(sub)}
        shown = {key: body.get("colour") for key, body in got.items()}
        return got if shown == {"L1/S1": s1, "L1/S2": s2} else None

    found = wait_for(current, what=f"retained colours {s1}, {s2}")
    assert isinstance(found, dict)
    return found


def test_colours_follow_bins_wip_and_material_call(broker: Broker, andon_gateway: Gateway) -> None:
    gw = andon_gateway
    wait_for(lambda: colours(gw) == {"L1/S1": "green", "L1/S2": "green"}, what="green at start-up")
    first = retained(broker, gw, "green", "green")
    assert first["L1/S1"]["previous"] is None
    assert {"type", "ts", "site", "seq", "line", "station"} <= set(first["L1/S1"])

    broker.publish(f"{gw.prefix}/scale/B1", json.dumps({"weight_g": 200}))  # 20 pieces: a kanban card opens
    wait_for(lambda: colours(gw)["L1/S1"] == "yellow", what="yellow for the open card")
    broker.publish(f"{gw.prefix}/plc/plc1/call", json.dumps({"value": True}))
    wait_for(lambda: colours(gw)["L1/S1"] == "blue", what="blue for the material call")
    httpx.post(f"{gw.api}/api/v1/stations/S1/wip", json={"wip": 10}, timeout=5)
    wait_for(lambda: colours(gw)["L1/S1"] == "red", what="red at the WIP limit")
    httpx.post(f"{gw.api}/api/v1/stations/S1/wip", json={"wip": 0}, timeout=5)
    wait_for(lambda: colours(gw)["L1/S1"] == "blue", what="blue again below the limit")
    broker.publish(f"{gw.prefix}/scale/B2", json.dumps({"weight_g": 0}))  # B2 is empty: stockout
    wait_for(lambda: colours(gw)["L1/S2"] == "red", what="red for the stockout")

    now = retained(broker, gw, "blue", "red")
    assert now["L1/S1"]["previous"] == "red"
    [s1] = [s for s in gw.get("/api/v1/andon").json()["stations"] if s["station"] == "S1"]
    assert (s1["open_calls"], s1["material_call"], s1["wip"], s1["stockout"]) == (1, True, "normal", False)



def test_a_card_cancelled_through_the_api_turns_its_station_back_to_green(
    broker: Broker, andon_gateway: Gateway
) -> None:
    gw = andon_gateway
    wait_for(lambda: colours(gw) == {"L1/S1": "green", "L1/S2": "green"}, what="green at start-up")
    broker.publish(f"{gw.prefix}/scale/B2", json.dumps({"weight_g": 200}))  # 20 pieces: a kanban card opens
    wait_for(lambda: colours(gw)["L1/S2"] == "yellow", what="yellow for the open card")
    [signal_id] = [s["id"] for s in gw.get("/api/v1/signals").json()["signals"]]
    assert gw.post(f"/api/v1/signals/{signal_id}/cancel").status_code == 200
    wait_for(lambda: colours(gw)["L1/S2"] == "green", what="green once the card is cancelled")
    retained(broker, gw, "green", "green")


def andon_log(gw: Gateway) -> list[tuple[str, str, str | None]]:
    """The andon_changed events in the service's event log: station, colour, previous."""
    with sqlite3.connect(f"file:{gw.config.parent / 'state.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT body FROM events WHERE kind = 'andon_changed' ORDER BY seq").fetchall()
    return [(f"{b['line']}/{b['station']}", b["colour"], b["previous"]) for b in (json.loads(r[0]) for r in rows)]


def test_a_restart_logs_only_the_colours_that_changed_while_the_service_was_down(
    broker: Broker, andon_gateway: Gateway
) -> None:
    gw = andon_gateway
    retained(broker, gw, "green", "green")
    gw.stop()
    broker.publish(f"{gw.prefix}/scale/B2", json.dumps({"weight_g": 0}))  # queued for the service: a stockout
    gw.start()
    retained(broker, gw, "green", "red")
    gw.stop()
    assert andon_log(gw) == [("L1/S1", "green", None), ("L1/S2", "green", None), ("L1/S2", "red", "green")]


def test_a_plant_with_more_stations_than_one_write_gets_every_first_colour_and_event(
    broker: Broker, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stations = 2 * CHANGES_PER_COMMIT + 50  # the first colours go out in three writes
    plant = PLANT_HEADER + "items:\n  - {{sku: BOLT, unit_weight_g: 10}}\nbins:\n" + "".join(
        f"  - {{{{id: B{i}, sku: BOLT, line: L1, station: S{i}, container_qty: 100, reorder_point: 30}}}}\n"
        for i in range(stations)
    )
    gw = make_gateway(tmp_path, broker.port, request.node.nodeid, plant)
    gw.start()
    try:
        wait_for(lambda: len(colours(gw)) == stations, what="a colour for every station")
        assert set(colours(gw).values()) == {"green"}
        sub = broker.subscribe(f"{gw.prefix}/andon/#", count=stations)
        assert len({topic for topic, _ in messages(sub)}) == stations  # every colour published, retained
    finally:
        gw.stop()
    assert sorted(station for station, _, _ in andon_log(gw)) == sorted(f"L1/S{i}" for i in range(stations))
