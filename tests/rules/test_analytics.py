"""Replenishment analytics against figures computed by hand (docs/ANALYTICS.md)."""

from __future__ import annotations

import pytest

from rules.analytics import (
    DAY_S,
    HOUR_S,
    Kpis,
    Sample,
    SignalTimes,
    consumption_rate,
    daily_usage,
    hours_to_empty,
    kpis,
    lead_times_h,
    recommended_cards,
    reorder_point,
    safety_stock_peak,
    safety_stock_service,
    stockouts,
)


def test_consumption_rate_is_an_interval_weighted_moving_average() -> None:
    # 10 pieces in the first hour, 20 in the second; half-life 1 h weighs the second interval 1 - 2^-1 = 0.5:
    # 10 + 0.5 × (20 − 10) = 15 pieces/h.
    samples = [Sample(0.0, 0, 100), Sample(HOUR_S, 10, 90), Sample(2 * HOUR_S, 30, 70)]
    assert consumption_rate(samples, half_life_h=1.0) == pytest.approx(15.0)
    assert consumption_rate(samples[:1], half_life_h=1.0) is None


def test_refills_and_leaning_do_not_count_as_consumption() -> None:
    # The counter comes from the rules, which count only falls below the lowest level since the last refill;
    # a flat counter over a refill means zero consumption, not a negative one.
    samples = [Sample(0.0, 50, 20), Sample(HOUR_S, 50, 120), Sample(2 * HOUR_S, 50, 120)]
    assert consumption_rate(samples, half_life_h=1.0) == 0.0


def test_hours_to_empty() -> None:
    assert hours_to_empty(30, 15.0) == 2.0
    assert hours_to_empty(30, 0.0) is None
    assert hours_to_empty(None, 15.0) is None


def test_daily_usage_over_whole_days_only() -> None:
    day = DAY_S
    samples = [
        Sample(0.5 * day, 0, None), Sample(1.0 * day, 10, None), Sample(1.5 * day, 50, None),
        Sample(2.25 * day, 100, None), Sample(3.25 * day, 130, None), Sample(4.05 * day, 140, None),
    ]
    # Last counter of days 0..4: 0, 50, 100, 130, 140; days 1..3 are whole: 50, 50, 30.
    assert daily_usage(samples) == [50, 50, 30]


def test_lead_time_per_supplier() -> None:
    signals = [
        SignalTimes("acme", 0.0, 20 * HOUR_S), SignalTimes("acme", 0.0, 30 * HOUR_S),
        SignalTimes("wh", 0.0, 2 * HOUR_S), SignalTimes("wh", 0.0, None),
    ]
    assert lead_times_h(signals) == {"acme": 25.0, "wh": 2.0}


@pytest.mark.parametrize(
    ("demand", "lead", "alpha", "qty", "cards"),
    [
        (10.0, 24.0, 0.25, 100, 3),  # 10 × 24 × 1.25 / 100 = 3.0 exactly
        (10.0, 24.0, 0.30, 100, 4),  # 3.12 → 4
        (0.1, 1.0, 0.0, 100, 1),  # never below one card
    ],
)
def test_recommended_cards(demand: float, lead: float, alpha: float, qty: int, cards: int) -> None:
    assert recommended_cards(demand_per_h=demand, lead_time_h=lead, safety_factor=alpha, container_qty=qty) == cards


def test_safety_stock_and_reorder_point() -> None:
    assert safety_stock_peak(max_daily=300, avg_daily=240, lead_time_h=48) == 120.0  # 60 × 2 days
    # σ of 200, 240, 280 = √(3200 / 3) = 32.66; z(95 %) = 1.6449; one day: 53.72
    service = safety_stock_service(daily=[200, 240, 280], lead_time_h=24, service_level=0.95)
    assert service == pytest.approx(53.72, abs=0.01)
    assert reorder_point(avg_daily=240, lead_time_h=48, safety_stock=120) == 600  # 480 + 120


def test_stockouts_count_and_minutes() -> None:
    samples = [Sample(t, 0, p) for t, p in ((0, 5), (60, 0), (120, 0), (180, 3), (240, 0))]
    assert stockouts(samples) == (2, 2.0)  # two falls to zero; 120 s at zero before the level came back


def test_kpis() -> None:
    signals = [
        SignalTimes("acme", 0.0, 20 * HOUR_S),  # on time (24 h promised)
        SignalTimes("acme", 0.0, 30 * HOUR_S),  # late
        SignalTimes("acme", DAY_S, None),  # still open
    ]
    samples = [Sample(0, 0, 10), Sample(60, 5, 0), Sample(180, 5, 4)]
    assert kpis(samples=samples, signals=signals, lead_time_h={"acme": 24.0}, period_s=2 * DAY_S) == Kpis(
        stockouts=1, stockout_minutes=2.0, received=2, on_time_rate=0.5, avg_signal_to_receipt_h=25.0,
        cards_per_day=1.5,
    )
