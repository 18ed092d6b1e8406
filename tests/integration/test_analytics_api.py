"""Analytics through the running service: consumption is sampled, a predictive loop releases early, the
analytics and KPI endpoints answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PLANT_HEADER, Broker, Gateway, make_gateway, wait_for

pytestmark = pytest.mark.integration

PLANT = PLANT_HEADER + """\
analytics: {{sample_interval_s: 1}}
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
bins:
  - {{id: P1, sku: BOLT, line: L1, station: S1, container_qty: 100, reorder_point: 30, predictive_margin_h: 1,
      debounce: {{readings: 1}}}}
"""


@pytest.fixture
def plant(broker: Broker, tmp_path: Path) -> Iterator[Gateway]:
    gw = make_gateway(tmp_path, broker.port, "analytics", PLANT)
    gw.start()
    yield gw
    gw.stop()


def test_predictive_release_and_analytics_endpoints(broker: Broker, plant: Gateway) -> None:
    topic = f"{plant.prefix}/scale/P1"
    broker.publish(topic, json.dumps({"weight_g": 1000}))  # 100 pieces
    wait_for(lambda: plant.get("/api/v1/loops/P1/analytics").json()["samples"] >= 2, what="a stored sample")
    broker.publish(topic, json.dumps({"weight_g": 800}))  # 80: far above the reorder point, but emptying fast

    signals = wait_for(lambda: plant.get("/api/v1/signals?loop=P1").json()["signals"], what="an early release")
    assert isinstance(signals, list)
    assert [(s["released_by"], s["pieces_at_release"]) for s in signals] == [("predictive", 80)]

    report = plant.get("/api/v1/loops/P1/analytics").json()
    assert report["consumption_rate_per_h"] > 0
    assert report["time_to_empty_h"] < 25  # the supplier's 24 h plus the 1 h margin
    assert report["configured"]["cards"] == 1
    assert report["lead_time_h"] == {"promised": 24.0, "measured": None}
    assert report["recommended"]["cards"] >= 1
    kpis = plant.get("/api/v1/kpis").json()
    assert kpis["loops"]["P1"]["stockouts"] == 0
    assert kpis["suppliers"]["acme"]["received"] == 0
    assert plant.get("/api/v1/loops/NOPE/analytics").status_code == 404
