"""Every InfluxQL query of the Grafana dashboard (docker/grafana/dashboards/kanban-edge.json) runs against a
real InfluxDB 1.x holding what the service wrote while `kanban-edge simulate` played the demo plant, and
returns rows. Grafana's macros are replaced as Grafana would: a time range, an interval, the line variable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, Broker, Gateway, wait_for
from tests.influx_servers import Influxd
from tests.integration.test_simulate import command, demo_plant, stop

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "docker" / "grafana" / "dashboards" / "kanban-edge.json"


def queries() -> dict[str, str]:
    """Panel title (and ref id) → query, the line variable's query included."""
    dashboard = json.loads(DASHBOARD.read_text())
    found = {f"{p['title']} {t['refId']}": t["query"] for p in dashboard["panels"] for t in p.get("targets", [])}
    found |= {f"variable {v['name']}": v["query"] for v in dashboard["templating"]["list"]}
    return found


def as_grafana_sends(query: str) -> str:
    return (query.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "5s")
            .replace("$line", "(L1|L2)"))  # the variable with both lines selected


def rows(influxd: Influxd, query: str) -> int | str:
    """How many rows the query returns, or InfluxDB's error."""
    answer = httpx.post(f"{influxd.url}/query", params={"db": influxd.database}, data={"q": query}, timeout=10).json()
    if "error" in answer:  # a query that does not parse
        return str(answer["error"])
    result = answer["results"][0]
    if "error" in result:
        return str(result["error"])
    return sum(len(series["values"]) for series in result.get("series", []))


@pytest.fixture
def plant_with_history(broker: Broker, influxd: Influxd, tmp_path: Path) -> Iterator[Gateway]:
    gw, _ = demo_plant(tmp_path, broker.port)
    text = gw.config.read_text()
    text = text.replace("wip_warning: 16, wip_limit: 20", "wip_warning: 1, wip_limit: 3")  # alarms at once
    text += f"\ninflux: {{api: v1, url: '{influxd.url}', database: {influxd.database}, flush_interval_s: 0.5}}\n"
    gw.config.write_text(text)
    gw.start()
    log = tmp_path / "devices.log"
    devices = [command("simulate", "--config", str(gw.config), "--speed", "3000", "--seed", "3", log=log),
               command("edge", "--config", str(gw.config), log=log)]
    broker.publish(f"{gw.prefix}/scale/L1-S11-M8X20", "not json")  # rejected input, whatever the simulation does
    yield gw
    for proc in devices:
        if proc.poll() is None:
            stop(proc)
    gw.stop()


def test_every_dashboard_query_returns_rows_from_what_the_service_wrote(
    plant_with_history: Gateway, influxd: Influxd
) -> None:
    sent = {title: as_grafana_sends(q) for title, q in queries().items()}
    assert len(sent) >= 10

    def empty() -> dict[str, int | str]:
        return {title: n for title, q in sent.items() if not isinstance(n := rows(influxd, q), int) or n == 0}

    last: dict[str, int | str] = {}

    def all_answer() -> bool:
        last.clear()
        last.update(empty())
        return not last

    try:
        wait_for(all_answer, timeout_s=90, what="rows for every dashboard query")
    except pytest.fail.Exception:
        pytest.fail(f"queries without rows or with errors: {last}")


def test_a_query_with_a_mistake_is_reported(influxd: Influxd) -> None:
    assert isinstance(rows(influxd, 'SELECT mean("level_pct") FROM "bin_level" GROUP BY time(5s'), str)
    assert rows(influxd, 'SELECT mean("level_pct") FROM "no_such_measurement" WHERE time > now() - 1h') == 0
