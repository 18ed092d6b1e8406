"""Replenishment analytics, pure: consumption, time to empty, lead times, loop sizing and KPIs.

Inputs are samples of a loop's consumption counter (pieces taken out since the loop was created, counted only
below the lowest level since the last refill, so refills and a person leaning on the bin add nothing) and its
signals. Times are epoch seconds; rates are pieces per hour. The formulas are in docs/ANALYTICS.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import NormalDist, mean, pstdev

HOUR_S = 3600.0
DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Sample:
    """A loop's consumption counter and level at one time."""

    ts: float
    consumed: int
    pieces: int | None


@dataclass(frozen=True, slots=True)
class SignalTimes:
    """When a signal was released and, if it was received, when."""

    supplier: str | None
    released_at: float
    received_at: float | None


def consumption_rate(samples: Sequence[Sample], *, half_life_h: float) -> float | None:
    """Smoothed consumption in pieces/hour: an exponentially weighted mean of the rate between samples,
    each interval weighted by its length (`1 - 2^(-Δt/half_life)`). None with fewer than two samples."""
    rate: float | None = None
    for before, after in pairwise(samples):
        dt_h = (after.ts - before.ts) / HOUR_S
        if dt_h <= 0:
            continue
        interval = (after.consumed - before.consumed) / dt_h
        weight = 1.0 - 2.0 ** (-dt_h / half_life_h)
        rate = interval if rate is None else rate + weight * (interval - rate)
    return rate


def hours_to_empty(pieces: int | None, rate_per_h: float | None) -> float | None:
    """How long the bin lasts at this rate; None when the level or a positive rate is unknown."""
    if pieces is None or rate_per_h is None or rate_per_h <= 0:
        return None
    return pieces / rate_per_h


def daily_usage(samples: Sequence[Sample]) -> list[int]:
    """Pieces consumed on each whole UTC day the samples span (the first and last, partial, days are left out)."""
    last_of_day: dict[int, int] = {}
    for sample in samples:
        last_of_day[int(sample.ts // DAY_S)] = sample.consumed
    days = sorted(last_of_day)
    return [last_of_day[day] - last_of_day[day - 1] for day in days[1:-1] if day - 1 in last_of_day]


def lead_times_h(signals: Sequence[SignalTimes]) -> dict[str | None, float]:
    """Mean signal → receipt time per supplier, in hours, over received signals."""
    by_supplier: dict[str | None, list[float]] = {}
    for signal in signals:
        if signal.received_at is not None:
            by_supplier.setdefault(signal.supplier, []).append((signal.received_at - signal.released_at) / HOUR_S)
    return {supplier: mean(times) for supplier, times in by_supplier.items()}


def recommended_cards(*, demand_per_h: float, lead_time_h: float, safety_factor: float, container_qty: int) -> int:
    """N = ⌈D·L·(1+α)/C⌉, at least 1."""
    return max(1, math.ceil(demand_per_h * lead_time_h * (1.0 + safety_factor) / container_qty - 1e-9))


def safety_stock_peak(*, max_daily: float, avg_daily: float, lead_time_h: float) -> float:
    """(max daily usage − average daily usage) × lead time in days."""
    return (max_daily - avg_daily) * lead_time_h / 24.0


def safety_stock_service(*, daily: Sequence[float], lead_time_h: float, service_level: float) -> float:
    """z(service level) × σ(daily usage) × √(lead time in days): the normal-demand service-level variant."""
    z = NormalDist().inv_cdf(service_level)
    return z * pstdev(daily) * math.sqrt(lead_time_h / 24.0)


def reorder_point(*, avg_daily: float, lead_time_h: float, safety_stock: float) -> int:
    """Demand over the lead time plus safety stock, rounded up to whole pieces."""
    return math.ceil(avg_daily * lead_time_h / 24.0 + safety_stock - 1e-9)


@dataclass(frozen=True, slots=True)
class Kpis:
    """Key figures of a loop or a supplier over a period."""

    stockouts: int
    stockout_minutes: float
    received: int
    on_time_rate: float | None  # received within the supplier's lead time, of all received
    avg_signal_to_receipt_h: float | None
    cards_per_day: float | None


def stockouts(samples: Sequence[Sample]) -> tuple[int, float]:
    """How often the level fell to zero and for how many minutes it stayed there (to the next sample)."""
    count, seconds = 0, 0.0
    for before, after in pairwise(samples):
        if before.pieces == 0:
            seconds += after.ts - before.ts
    previous: int | None = None
    for sample in samples:
        if sample.pieces == 0 and previous != 0:
            count += 1
        previous = sample.pieces
    return count, seconds / 60.0


def kpis(
    *, samples: Sequence[Sample], signals: Sequence[SignalTimes], lead_time_h: Mapping[str, float],
    period_s: float,
) -> Kpis:
    """Stockouts from the samples; on-time rate, mean signal → receipt and cards per day from the signals.
    `lead_time_h` is each supplier's promised lead time; `period_s` the span the signals cover."""
    count, minutes = stockouts(samples)
    received = [s for s in signals if s.received_at is not None]
    waits = [(s.received_at - s.released_at) / HOUR_S for s in received if s.received_at is not None]
    on_time = [
        wait <= lead_time_h[s.supplier]
        for s, wait in zip(received, waits, strict=True)
        if s.supplier is not None and s.supplier in lead_time_h
    ]
    return Kpis(
        stockouts=count, stockout_minutes=round(minutes, 1), received=len(received),
        on_time_rate=sum(on_time) / len(on_time) if on_time else None,
        avg_signal_to_receipt_h=mean(waits) if waits else None,
        cards_per_day=len(signals) / (period_s / DAY_S) if period_s > 0 else None,
    )
