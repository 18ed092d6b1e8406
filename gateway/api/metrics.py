"""`GET /metrics`: the service's figures in Prometheus' text format, read when scraped.

The hot path keeps counting as it always has (plain integers on the ingest, the rejections, the committer; a
bucket count per transaction for the histograms here); `gateway.api.scrape` reads them at scrape time, so a
scrape costs the service a few milliseconds and a reading nothing. prometheus_client, which writes the text, is
imported at the first scrape: a service nobody scrapes does not load it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from gateway.service import Service

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_EFFECTS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)
_SECONDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def package_version() -> str:
    """The installed version of kanban-edge."""
    try:
        return version("kanban-edge")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class Histogram:
    """Observations counted into buckets (upper bounds, the last one +Inf), with their sum."""

    __slots__ = ("bounds", "counts", "documentation", "name", "total")

    def __init__(self, name: str, documentation: str, bounds: Sequence[float]) -> None:
        self.name, self.documentation, self.bounds = name, documentation, tuple(bounds)
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        """Count one observation."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts per upper bound, as Prometheus reads them."""
        cumulative, buckets = 0, []
        for bound, count in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            cumulative += count
            buckets.append((bound, float(cumulative)))
        return buckets


class Metrics:
    """The figures of one service: what its parts count, the committer's histograms and the process's own."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._registry: CollectorRegistry | None = None
        self._commit_effects = Histogram(
            "kanban_edge_commit_effects", "Effects (events, states, snapshots) written by one transaction", _EFFECTS,
        )
        self._commit_seconds = Histogram(
            "kanban_edge_commit_seconds", "Time to write one transaction, retries included", _SECONDS,
        )
        self._effect_age = Histogram(
            "kanban_edge_effect_age_seconds",
            "From the time of an event's cause (a reading's ts, device clock when it sends one) to its commit",
            _SECONDS,
        )

    def written(self, effects: int, seconds: float) -> None:
        """A transaction was written (the committer's `on_written`)."""
        self._commit_effects.observe(effects)
        self._commit_seconds.observe(seconds)

    def committed(self, age_s: float) -> None:
        """An event was committed `age_s` after its cause."""
        self._effect_age.observe(max(0.0, age_s))

    def exposition(self) -> bytes:
        """Every metric in the text format."""
        from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest

        from gateway.api.scrape import ServiceCollector

        if self._registry is None:
            self._registry = CollectorRegistry()
            self._registry.register(ServiceCollector(self._service, self.histograms()))
            ProcessCollector(registry=self._registry)  # resident memory, CPU, start time, open files
        return generate_latest(self._registry)

    def histograms(self) -> tuple[Histogram, ...]:
        """The committer's histograms."""
        return (self._commit_effects, self._commit_seconds, self._effect_age)
