"""CSV exports for planners, from the service process: parsed back with Python's csv module, they hold what the
JSON endpoints hold, with the same filters; a text that a spreadsheet would run as a formula stays text; and
`kanban-edge export` writes the same."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Broker, Gateway, free_port, make_gateway, wait_for

pytestmark = pytest.mark.integration

VIEWER, ERP = "planner-key-" + "v" * 24, "erp-key-" + "e" * 24
HEADER = """
site: {site}
mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}
storage: {{path: "{db}", snapshot_interval_s: 0.5}}
api:
  host: 127.0.0.1
  port: {api_port}
  anonymous_read: false                 # reads need a key, as on a plant network
""" + f"  keys: [{{{{name: planner, role: viewer, key: {VIEWER}}}}}, {{{{name: erp, role: erp, key: {ERP}}}}}]\n"
PLANT = HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
  - {{id: wh, name: Warehouse, lead_time_h: 2}}
items:
  - {{sku: M8X20, description: "Schraube M8×20, verzinkt", unit_weight_g: 10, supplier: acme}}
  - {{sku: CLIP, description: "=HYPERLINK(\\"http://evil.example\\")", unit_weight_g: 10, supplier: wh}}
bins:
  - {{id: B1, sku: M8X20, line: L1, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
  - {{id: B2, sku: M8X20, line: L1, station: S2, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
  - {{id: C1, sku: CLIP, line: L2, station: S1, container_qty: 100, reorder_point: 30, scale: {{tare_g: 500}}}}
"""
DRAIN = [json.dumps({"weight_g": w}) for w in (1500, 1000, 750, 750)]  # 100, 50, 25, 25 pieces
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def gateway(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A service with three signals: B1's shipped by a caller whose name and ASN look like formulas."""
    gw = make_gateway(tmp_path_factory.mktemp("exports"), broker.port, "exports", PLANT)
    gw.start()
    try:
        for bin_id in ("B1", "B2", "C1"):
            broker.publish_many(f"{gw.prefix}/scale/{bin_id}", DRAIN)
        wait_for(lambda: len(get(gw, "/api/v1/signals").json()["signals"]) == 3, what="three signals")
        b1 = get(gw, "/api/v1/signals?loop=B1").json()["signals"][0]["id"]
        shipped = httpx.post(f"{gw.api}/api/v1/signals/{b1}/ship", headers={"Authorization": f"Bearer {ERP}"},
                             json={"by": "@SUM(1+1)*cmd|' /C calc'!A0", "asn": "-2+3", "quantity": 100}, timeout=5)
        assert shipped.status_code == 200
        yield gw
    finally:
        gw.stop()


def get(gw: Gateway, path: str) -> httpx.Response:
    """A read with the planner's key."""
    return httpx.get(f"{gw.api}{path}", headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10)


def as_csv(value: Any) -> str:
    """How a JSON value is expected in a cell, written out independently of the service's code."""
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def parse(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8; header=present"
    text = answer.content.decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # RFC 4180 line ends
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("query", ["", "?status=open", "?loop=B1", "?supplier=wh", "?line=L1&limit=1",
                                   "?since=2000-01-01T00:00:00Z&status=shipped"])
def test_signals_csv_holds_what_the_json_endpoint_lists_with_the_same_filters(gateway: Gateway, query: str) -> None:
    rows = parse(get(gateway, f"/api/v1/signals.csv{query}"))
    listed = get(gateway, f"/api/v1/signals{query}").json()["signals"]
    assert [r["id"] for r in rows] == [s["id"] for s in listed]
    assert listed, "the filter should match something"
    for row, signal in zip(rows, listed, strict=True):
        expected = {k: as_csv(v) for k, v in signal.items() if k not in ("transitions", "documents")}
        assert {k: v for k, v in row.items() if k != "documents"} == expected
        assert row["documents"] == ""


def test_a_text_a_spreadsheet_would_run_as_a_formula_stays_text(gateway: Gateway) -> None:
    [row] = parse(get(gateway, "/api/v1/signals.csv?loop=B1"))
    assert (row["asn"], row["released_by"]) == ("'-2+3", "scale")
    shipped = get(gateway, f"/api/v1/signals/{row['id']}").json()["transitions"][-1]["by"]
    assert shipped == "@SUM(1+1)*cmd|' /C calc'!A0"  # kept as sent; the export writes it as text
    [clip] = [r for r in parse(get(gateway, "/api/v1/loops.csv")) if r["id"] == "C1"]
    assert clip["description"] == "'=HYPERLINK(\"http://evil.example\")"
    assert clip["pieces"] == "25"  # numbers stay numbers


def test_loops_and_kpis_csv_hold_what_the_json_endpoints_show(gateway: Gateway) -> None:
    rows = parse(get(gateway, "/api/v1/loops.csv"))
    loops = get(gateway, "/api/v1/loops").json()["loops"]
    assert rows == [{k: as_csv(v) for k, v in loop.items() if k != "card_states"} for loop in loops]
    assert rows[0]["description"] == "Schraube M8×20, verzinkt"
    rows = parse(get(gateway, "/api/v1/kpis.csv"))
    kpis = get(gateway, "/api/v1/kpis").json()
    expected = [{"scope": scope, "id": key, **{k: as_csv(v) for k, v in values.items()}}
                for scope, group in (("loop", "loops"), ("supplier", "suppliers"))
                for key, values in kpis[group].items()]
    moving = "cards_per_day"  # over the time since the first signal: it changes between the two requests
    assert [{k: v for k, v in r.items() if k != moving} for r in rows] == [
        {k: v for k, v in r.items() if k != moving} for r in expected]
    assert all(float(r[moving]) > 0 for r in rows)
    assert [(r["scope"], r["id"]) for r in rows] == [
        ("loop", "B1"), ("loop", "B2"), ("loop", "C1"), ("supplier", "acme"), ("supplier", "wh")]


def test_bad_filters_are_answered_like_the_json_endpoint(gateway: Gateway) -> None:
    answer = get(gateway, "/api/v1/signals.csv?status=lost")
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"


def kanban_edge(*args: str, key: str | None = VIEWER) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "KANBAN_API_KEY"} | ({"KANBAN_API_KEY": key} if key else {})
    return subprocess.run([sys.executable, "-m", "gateway", *args], cwd=ROOT, capture_output=True, timeout=60,
                          check=False, env=env)


def test_the_export_command_writes_the_same_csv(gateway: Gateway, tmp_path: Path) -> None:
    out = tmp_path / "open.csv"
    done = kanban_edge("export", "signals", "--url", gateway.api, "--status", "open", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == get(gateway, "/api/v1/signals.csv?status=open").content
    done = kanban_edge("export", "loops", "--config", str(gateway.config))
    assert done.returncode == 0, done.stderr
    assert done.stdout == get(gateway, "/api/v1/loops.csv").content

    nobody = kanban_edge("export", "kpis", "--url", f"http://127.0.0.1:{free_port()}")
    assert nobody.returncode == 2
    assert b"kanban-edge export: cannot fetch" in nobody.stderr
    refused = kanban_edge("export", "signals", "--url", gateway.api, "--status", "lost")
    assert refused.returncode == 2
    assert refused.stderr.startswith(b"kanban-edge export: "), refused.stderr
    no_key = kanban_edge("export", "loops", "--url", gateway.api, key=None)
    assert no_key.returncode == 2
    assert b"HTTP 401: this needs an API key" in no_key.stderr
    wrong = kanban_edge("export", "loops", "--url", gateway.api, "--line", "L1")
    assert (wrong.returncode, wrong.stderr) == (1, b"--line filters signals only\n")
