"""Replenishment analytics of the running plant: samples each loop's consumption, releases cards early for
loops that ask for it, and reports rates, lead times, recommended sizing and KPIs from the store."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from statistics import mean
from typing import Any

from config.plant import PlantConfig
from gateway.messages import event_body
from gateway.state.cards import SignalQuery
from gateway.state.committer import Committer
from gateway.state.consumption import SampleRow
from gateway.state.store import Store
from rules import analytics as calc
from rules.analytics import DAY_S, Kpis, Sample, SignalTimes
from rules.engine import Engine
from rules.scale_bin import BinSpec

_MAX_SIGNALS = 100_000
_PRUNE_EVERY_S = 3600.0  # samples older than the history window are deleted this often
_SLICE = 500  # loops sampled per transaction


@dataclass(frozen=True, slots=True)
class Sizing:
    """Recommended loop size beside the configured one."""

    demand_per_h: float | None
    lead_time_h: float
    cards: int | None
    safety_stock_peak: float | None
    safety_stock_service: float | None
    reorder_point_peak: int | None
    reorder_point_service: int | None


class LoopAnalytics:
    """Owns the sampling task; answers the analytics and KPI reads of the API."""

    def __init__(
        self, *, config: PlantConfig, engine: Engine, store: Store, committer: Committer,
        clock: Callable[[], float],
    ) -> None:
        self._config = config.analytics
        self._site = config.site
        self._engine = engine
        self._store = store
        self._committer = committer
        self._clock = clock
        self._bins = engine.specs
        self._promised = {s.id: s.lead_time_h for s in config.suppliers}
        self._last: dict[str, tuple[int, int | None]] = {}  # what each loop's last sample recorded
        self._pruned = 0.0
        span = 4 * self._config.half_life_h * 3600.0
        kept = int(span / self._config.sample_interval_s) + 2
        self._recent: dict[str, deque[Sample]] = {
            b.spec.bin_id: deque(store.samples(b.spec.bin_id, clock() - span), maxlen=kept)
            for b in engine if b.spec.predictive_margin_h is not None
        }

    async def run(self) -> None:
        """Sample every loop each `sample_interval_s` until cancelled."""
        while True:
            await asyncio.sleep(self._config.sample_interval_s)
            await self.sample(self._clock())

    async def sample(self, now: float) -> None:
        """Commit a sample of each loop whose consumption or level changed since its last one, `_SLICE` loops
        per transaction with the event loop running between them (a signal never waits behind thousands of
        sample rows); release early where the loop asks for it and it will run dry."""
        bins = list(self._engine)
        for start in range(0, len(bins), _SLICE):
            rows: list[SampleRow] = []
            for scale_bin in bins[start:start + _SLICE]:
                st = scale_bin.state
                key = (st.consumed, st.pieces)
                if self._last.get(scale_bin.spec.bin_id) != key:
                    self._last[scale_bin.spec.bin_id] = key
                    rows.append((scale_bin.spec.bin_id, now, st.consumed, st.pieces))
            if rows:
                self._committer.stage_samples(rows, keep_after=None)
                await self._committer.commit()
        if now - self._pruned >= _PRUNE_EVERY_S:
            self._committer.stage_samples([], keep_after=now - self._config.history_days * DAY_S)
            self._pruned = now
        for bin_id, recent in self._recent.items():
            state = self._engine.state_copy(bin_id)
            recent.append(Sample(now, state.consumed, state.pieces))
            self._predict(bin_id, recent, now)

    def _predict(self, bin_id: str, recent: deque[Sample], now: float) -> None:
        rate = calc.consumption_rate(list(recent), half_life_h=self._config.half_life_h)
        left = calc.hours_to_empty(self._engine.state_copy(bin_id).pieces, rate)
        margin = self._bins[bin_id].predictive_margin_h
        if left is None or margin is None:
            return
        event = self._engine.release_early(bin_id, now, hours_to_empty=left, horizon_h=self._lead_time(bin_id) + margin)
        if event is not None:
            body = event_body(event, self._bins[bin_id], self._site)
            self._committer.stage_event(event, body, self._engine.state_copy(bin_id))

    def _lead_time(self, bin_id: str) -> float:
        supplier = self._bins[bin_id].supplier
        return self._promised.get(supplier, 0.0) if supplier else 0.0

    # --- reads ---------------------------------------------------------------------------------------

    def _history(self, bin_id: str, now: float) -> tuple[list[Sample], list[SignalTimes]]:
        since = now - self._config.history_days * DAY_S
        live = self._engine.state_copy(bin_id)
        # Samples are taken on change; the live state closes the series at `now`.
        samples = [*self._store.samples(bin_id, since), Sample(now, live.consumed, live.pieces)]
        rows = self._store.signals(SignalQuery(bin_id=bin_id, since=since, limit=_MAX_SIGNALS))
        signals = [
            SignalTimes(r["supplier"], r["released_at"], r["closed_at"] if r["status"] == "received" else None)
            for r in reversed(rows)
        ]
        return samples, signals

    def report(self, bin_id: str) -> dict[str, Any]:
        """Rates, lead times, recommended sizing and KPIs of one loop."""
        now = self._clock()
        cfg = self._bins[bin_id]
        samples, signals = self._history(bin_id, now)
        rate = calc.consumption_rate(samples, half_life_h=self._config.half_life_h)
        measured = calc.lead_times_h(signals).get(self._bins[bin_id].supplier)
        daily = calc.daily_usage(samples)
        return {
            "loop": bin_id,
            "samples": len(samples),
            "consumption_rate_per_h": _round(rate),
            "time_to_empty_h": _round(calc.hours_to_empty(self._engine.state_copy(bin_id).pieces, rate)),
            "daily_usage": {"days": len(daily), "avg": _round(mean(daily)) if daily else None,
                            "max": max(daily) if daily else None},
            "lead_time_h": {"promised": self._lead_time(bin_id), "measured": _round(measured)},
            "configured": {"cards": cfg.cards, "container_qty": cfg.container_qty,
                           "reorder_point": cfg.reorder_point, "safety_stock": cfg.safety_stock,
                           "predictive_margin_h": cfg.predictive_margin_h},
            "recommended": self._sizing(cfg, rate, daily, measured),
            "kpis": self._kpis(samples, signals, now),
        }

    def _sizing(self, cfg: BinSpec, rate: float | None, daily: list[int], measured: float | None) -> dict[str, Any]:
        lead = measured if measured is not None else self._lead_time(cfg.bin_id)
        demand = mean(daily) / 24.0 if daily else rate
        sizing = Sizing(demand_per_h=_round(demand), lead_time_h=round(lead, 2), cards=None, safety_stock_peak=None,
                        safety_stock_service=None, reorder_point_peak=None, reorder_point_service=None)
        if demand is not None and demand > 0:
            sizing = replace(sizing, cards=calc.recommended_cards(
                demand_per_h=demand, lead_time_h=lead, safety_factor=self._config.safety_factor,
                container_qty=cfg.container_qty))
        if daily:
            avg = mean(daily)
            peak = calc.safety_stock_peak(max_daily=max(daily), avg_daily=avg, lead_time_h=lead)
            service = calc.safety_stock_service(daily=daily, lead_time_h=lead, service_level=self._config.service_level)
            sizing = replace(
                sizing, safety_stock_peak=round(peak, 1), safety_stock_service=round(service, 1),
                reorder_point_peak=calc.reorder_point(avg_daily=avg, lead_time_h=lead, safety_stock=peak),
                reorder_point_service=calc.reorder_point(avg_daily=avg, lead_time_h=lead, safety_stock=service),
            )
        return asdict(sizing)

    def _kpis(self, samples: list[Sample], signals: list[SignalTimes], now: float) -> dict[str, Any]:
        return asdict(self._kpis_of(samples, signals, now))

    def _kpis_of(self, samples: list[Sample], signals: list[SignalTimes], now: float) -> Kpis:
        starts = [s.ts for s in samples[:1]] + [s.released_at for s in signals[:1]]
        period = now - min(starts) if starts else 0.0
        return calc.kpis(samples=samples, signals=signals, lead_time_h=self._promised, period_s=period)

    def all_kpis(self) -> dict[str, Any]:
        """KPIs per loop and per supplier (a supplier's stockouts are those of its loops)."""
        now = self._clock()
        loops: dict[str, Kpis] = {}
        by_supplier: dict[str, tuple[list[SignalTimes], list[Kpis], float]] = {}
        for bin_id in self._bins:
            samples, signals = self._history(bin_id, now)
            loops[bin_id] = self._kpis_of(samples, signals, now)
            supplier = self._bins[bin_id].supplier
            if supplier is not None:
                own, kpis, start = by_supplier.get(supplier, ([], [], now))
                first = min([s.ts for s in samples[:1]] + [s.released_at for s in signals[:1]] + [start])
                by_supplier[supplier] = (own + signals, [*kpis, loops[bin_id]], first)
        suppliers = {}
        for supplier, (signals, kpis, start) in by_supplier.items():
            joint = calc.kpis(samples=[], signals=signals, lead_time_h=self._promised, period_s=now - start)
            suppliers[supplier] = replace(
                joint, stockouts=sum(k.stockouts for k in kpis),
                stockout_minutes=round(sum(k.stockout_minutes for k in kpis), 1),
            )
        return {"loops": {k: asdict(v) for k, v in loops.items()},
                "suppliers": {k: asdict(v) for k, v in suppliers.items()}}


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None
