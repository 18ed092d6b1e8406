"""History in InfluxDB from the service process: real influxd (v1 API) and VictoriaMetrics (/api/v2/write)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Broker, Gateway, make_gateway, wait_for
from tests.influx_servers import Influxd, Victoria

pytestmark = pytest.mark.integration

V1 = """
influx:
  api: v1
  url: {url}
  database: kanban
  flush_interval_s: 0.2
  retry_max_s: 0.5
  level_deadband_pct: 0
  level_heartbeat_s: 3600
"""
V2 = """
influx:
  api: v2
  url: {url}
  org: plant
  bucket: kanban
  token: not-checked-by-this-server
  flush_interval_s: 0.2
  level_deadband_pct: 0
  level_heartbeat_s: 3600
"""
# B1: tare 500 g, 10 g per piece, reorder point 30: levels of 40..100 pieces release nothing.


def readings(start: float, pieces: list[int]) -> dict[int, int]:
    """Reading times (epoch ms, one per second from `start`) → pieces."""
    return {round((start + i) * 1000): p for i, p in enumerate(pieces)}


def publish(broker: Broker, gw: Gateway, sent: dict[int, int]) -> None:
    payloads = [json.dumps({"weight_g": 500 + 10 * p, "ts": t / 1000}) for t, p in sent.items()]
    broker.publish_many(f"{gw.prefix}/scale/B1", payloads)
    last = max(sent)
    wait_for(lambda: gw.get("/api/v1/bins/B1").json()["pieces"] == sent[last], what="the readings to be applied")


def influx_stats(gw: Gateway) -> dict[str, Any]:
    answer: dict[str, Any] = gw.get("/api/v1/outbox").json()
    return answer["influx"] | {"pending": answer["consumers"].get("influx", {}).get("pending", 0)}


def all_written(gw: Gateway) -> bool:
    stats = influx_stats(gw)
    return bool(stats["lines_queued"] and stats["lines_written"] + stats["lines_rejected"] == stats["lines_queued"]
                and stats["pending"] == 0)


def with_influx(broker: Broker, tmp_path: Path, name: str, section: str) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, name)
    gw.config.write_text(gw.config.read_text() + section)
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture
def gw_v1(broker: Broker, tmp_path: Path, influxd: Influxd, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from with_influx(broker, tmp_path, request.node.nodeid, V1.format(url=influxd.url))


def test_influxd_outage_loses_no_point_and_keeps_original_timestamps(
    broker: Broker, influxd: Influxd, gw_v1: Gateway
) -> None:
    start = time.time() - 120
    before = readings(start, [100, 95, 90, 85, 80])
    during = readings(start + 5, [75, 70, 65, 60, 55])
    after = readings(start + 10, [50, 45, 40])

    publish(broker, gw_v1, before)
    # The stations' first Andon colours are written too (a second after start-up): influxd is stopped only
    # once they are in, so its shutdown does not race their write.
    wait_for(lambda: all_written(gw_v1) and influx_stats(gw_v1)["reachable"]
             and len(influxd.query("SELECT * FROM andon")) == 2, what="the first points written")
    influxd.stop()
    queued_at_stop = influx_stats(gw_v1)["lines_queued"]
    publish(broker, gw_v1, during)
    wait_for(lambda: (s := influx_stats(gw_v1))["lines_queued"] > queued_at_stop and s["reachable"] is False
             and s["pending"] > 0, what="points kept in the outbox while influxd is down")
    influxd.start()
    publish(broker, gw_v1, after)
    wait_for(lambda: all_written(gw_v1) and gw_v1.get("/api/v1/bins/B1").json()["pieces"] == 40
             and max(r["time"] for r in influxd.query("SELECT * FROM bin_level")) == max(after),
             timeout_s=30, what="every point written after influxd came back")

    rows = influxd.query("SELECT * FROM bin_level")
    sent = before | during | after
    assert {(r["time"], r["pieces"], r["bin"], r["sku"], r["supplier"]) for r in rows} <= {
        (t, p, "B1", "BOLT", "acme") for t, p in sent.items()
    }
    andon = influxd.query("SELECT * FROM andon")  # each station's colour at start-up is an event too
    outbox = influxd.query("SELECT * FROM outbox")  # the outbox's own counts, every 10 s
    others = len(andon) + len(outbox)
    assert len(rows) == len({r["time"] for r in rows}) == influx_stats(gw_v1)["lines_written"] - others
    assert {max(before), max(during), max(after)} <= {r["time"] for r in rows}
    assert influx_stats(gw_v1)["lines_rejected"] == 0


def test_history_of_a_bin_from_influxql(broker: Broker, gw_v1: Gateway) -> None:
    start = float(int(time.time()) - 60)
    sent = readings(start, [90, 80, 70])
    publish(broker, gw_v1, sent)
    wait_for(lambda: all_written(gw_v1), what="the points written")
    frm = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
    to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + 3))

    def history() -> list[dict[str, Any]]:
        answer = gw_v1.get(f"/api/v1/bins/B1/history?from={frm}&to={to}&every=1s")
        assert answer.status_code == 200, answer.text
        points: list[dict[str, Any]] = answer.json()["points"]
        return points

    points = wait_for(lambda: (p := history()) and p[-1]["pieces"] == 70 and p, what="the last reading in history")
    assert isinstance(points, list)
    assert [(sent[round(datetime.fromisoformat(p["time"]).timestamp() * 1000)], p["pieces"]) for p in points] == [
        (p["pieces"], p["pieces"]) for p in points
    ]
    assert (points[-1]["level_pct"], points[-1]["weight_g"]) == (70.0, 1200.0)
    assert gw_v1.get("/api/v1/bins/NOPE/history").status_code == 404
    assert gw_v1.get("/api/v1/bins/B1/history?every=5x").json()["error"]["code"] == "bad_request"


def test_a_point_influxdb_refuses_is_dropped_alone_and_the_rest_still_flows(
    broker: Broker, influxd: Influxd, gw_v1: Gateway
) -> None:
    # A string field `pieces` in bin_level (in the same shard: this week) makes InfluxDB refuse our integer
    # `pieces` (field type conflict).
    conflict = httpx.post(f"{influxd.url}/write", params={"db": "kanban", "precision": "s"},
                          content=f'bin_level pieces="many" {int(time.time()) - 100}'.encode())
    assert conflict.status_code == 204
    publish(broker, gw_v1, readings(time.time() - 30, [100, 50, 25, 25]))  # a signal at 25 pieces

    wait_for(lambda: influxd.query("SELECT * FROM kanban_signal"), what="the signal's point")
    wait_for(lambda: all_written(gw_v1) and influx_stats(gw_v1)["lines_rejected"] >= 1, what="refused points dropped")
    [signal_row] = influxd.query("SELECT * FROM kanban_signal")
    assert (signal_row["type"], signal_row["bin"], signal_row["pieces"]) == ("signal_released", "B1", 25)
    assert influxd.query("SELECT * FROM bin_level WHERE bin = 'B1'") == []
    assert influx_stats(gw_v1)["lines_written"] >= 1


@pytest.fixture
def gw_v2(broker: Broker, tmp_path: Path, victoria: Victoria, request: pytest.FixtureRequest) -> Iterator[Gateway]:
    yield from with_influx(broker, tmp_path, request.node.nodeid, V2.format(url=victoria.url))


def test_v2_write_path_to_victoria_metrics(broker: Broker, victoria: Victoria, gw_v2: Gateway) -> None:
    sent = readings(time.time() - 60, [100, 60, 50])
    publish(broker, gw_v2, sent)
    wait_for(lambda: all_written(gw_v2), what="the points written")

    series = wait_for(lambda: victoria.export('{__name__="bin_level_pieces"}'), what="bin levels in victoria")
    assert isinstance(series, list)
    [levels] = series
    labels = levels["metric"]
    assert (labels["bin"], labels["site"], labels["sku"]) == ("B1", gw_v2.prefix.split("/")[1], "BOLT")
    assert dict(zip(levels["timestamps"], levels["values"], strict=True)).items() <= sent.items()
    assert max(levels["timestamps"]) == max(sent)


def test_rejected_inputs_and_signals_are_written_as_they_happen(
    broker: Broker, influxd: Influxd, gw_v1: Gateway
) -> None:
    broker.publish_many(f"{gw_v1.prefix}/scale/B1", ["not json", "not json", '{"weight_g": -5000}'])
    publish(broker, gw_v1, readings(time.time() - 30, [100, 25, 25]))

    def counts() -> dict[str, int]:
        return {r["reason"]: r["count"] for r in influxd.query("SELECT last(count) AS count FROM rejected_inputs"
                                                               " GROUP BY reason")}

    wait_for(lambda: counts() == {"invalid_json": 2, "negative_weight": 1}, what="rejection counts in InfluxDB")
    [released] = wait_for(lambda: influxd.query("SELECT * FROM kanban_signal"), what="the signal")  # type: ignore[misc]
    signal_id = gw_v1.get("/api/v1/signals").json()["signals"][0]["id"]
    assert (released["type"], released["signal_id"], released["supplier"], released["quantity"]) == (
        "signal_released", signal_id, "acme", 100
    )
