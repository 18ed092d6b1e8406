"""The worked example of docs/PLANNING.md, computed with the functions the service uses."""

from __future__ import annotations

import pytest

from config.bundled import DEMO_PLANT
from config.load import load_config
from rules import analytics


def test_the_worked_example_of_the_planning_guide() -> None:
    loop = next(b for b in load_config(DEMO_PLANT).bins if b.id == "L1-S11-M8X20")
    assert (loop.container_qty, loop.cards, loop.reorder_point) == (200, 2, 60)
    daily = [600, 600, 600, 600, 600, 600, 720, 480]
    lead_h = 10.0  # cards back after 9 h and 11 h
    avg = sum(daily) / len(daily)
    assert analytics.recommended_cards(demand_per_h=avg / 24, lead_time_h=lead_h, safety_factor=0.2,
                                       container_qty=loop.container_qty) == 2
    peak = analytics.safety_stock_peak(max_daily=max(daily), avg_daily=avg, lead_time_h=lead_h)
    service = analytics.safety_stock_service(daily=daily, lead_time_h=lead_h, service_level=0.95)
    assert peak == pytest.approx(50.0)
    assert service == pytest.approx(63.7, abs=0.05)
    assert analytics.reorder_point(avg_daily=avg, lead_time_h=lead_h, safety_stock=peak) == 300
    assert analytics.reorder_point(avg_daily=avg, lead_time_h=lead_h, safety_stock=service) == 314
    first_card_at = loop.reorder_point + (loop.cards - 1) * loop.container_qty
    assert first_card_at == 260
    assert analytics.recommended_cards(demand_per_h=avg / 24, lead_time_h=20.0, safety_factor=0.2,
                                       container_qty=loop.container_qty) == 3
    peak_20h = analytics.safety_stock_peak(max_daily=max(daily), avg_daily=avg, lead_time_h=20.0)
    assert analytics.reorder_point(avg_daily=avg, lead_time_h=20.0, safety_stock=peak_20h) == 600
