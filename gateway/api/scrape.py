"""The service's figures as Prometheus metric families, read at scrape time (imported at the first scrape).

Label values come from bounded sets only (rejection reasons, alarm kinds, signal statuses, outbox consumers),
never one a bin.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from gateway.api.metrics import Histogram, package_version

if TYPE_CHECKING:
    from gateway.service import Service


class ServiceCollector:
    """Reads the service's figures at scrape time (a prometheus_client collector)."""

    def __init__(self, service: Service, histograms: Sequence[Histogram]) -> None:
        self._service = service
        self._histograms = histograms

    def collect(self) -> Iterator[Metric]:
        """Every figure of the service, as metric families."""
        for histogram in self._histograms:
            yield HistogramMetricFamily(histogram.name, histogram.documentation, buckets=histogram.buckets(),
                                        sum_value=histogram.total)
        s = self._service
        info = GaugeMetricFamily("kanban_edge_info", "The running service", labels=["version", "site"])
        info.add_metric([package_version(), s.config.site], 1)
        yield info
        yield _gauge("kanban_edge_broker_connected", "1 while the broker session is up", int(s.link.connected))
        yield _gauge("kanban_edge_database_writable", "1 while the state database takes writes",
                     int(s.committer.healthy and s.store.damage is None))
        messages = CounterMetricFamily("kanban_edge_messages_total", "MQTT messages by topic family",
                                       labels=["family"])
        for family, count in (("scale", s.scales.received), ("plc", s.floor.received), ("rfid", s.rfid.received)):
            messages.add_metric([family], count)
        yield messages
        yield CounterMetricFamily("kanban_edge_messages_processed_total", "MQTT messages processed since start",
                                  value=s.ingest.processed)
        yield _labelled(CounterMetricFamily, "kanban_edge_messages_rejected_total",
                        "Rejected messages by reason (since the database was created)", "reason", s.rejections.counts)
        yield from self._signals()
        yield from self._floor()
        yield from self._outbox()
        yield _gauge("kanban_edge_event_stream_clients", "Clients of /api/v1/events now", s.events.clients)
        yield CounterMetricFamily("kanban_edge_event_stream_overflows_total",
                                  "Event-stream clients dropped for falling behind", value=s.events.overflows)
        yield _labelled(CounterMetricFamily, "kanban_edge_api_auth_failures_total",
                        "API requests refused for their key: missing, unknown, forbidden", "reason",
                        s.access.failures)

    def _signals(self) -> Iterator[Metric]:
        released = 0
        open_by_status: Counter[str] = Counter()
        stale = 0
        for scale_bin in self._service.engine:
            state = scale_bin.state
            released += state.signals_released
            stale += state.stale
            for card in state.open_cards:
                open_by_status[card.status] += 1
        yield CounterMetricFamily("kanban_edge_signals_released_total", "Kanban signals released, all loops",
                                  value=released)
        yield _labelled(GaugeMetricFamily, "kanban_edge_signals_open", "Open signals by lifecycle status", "status",
                        {status: open_by_status[status] for status in ("released", "acknowledged", "shipped")})
        alarms: Counter[str] = Counter(alarm.kind for alarm in self._service.floor.rules.alarms)
        alarms["sensor_stale"] += stale
        yield _labelled(GaugeMetricFamily, "kanban_edge_alarms_open", "Open alarms (active or acknowledged) by kind",
                        "kind", alarms)

    def _floor(self) -> Iterator[Metric]:
        rules = self._service.floor.rules
        states = Counter(rules.station_state(station_id) for station_id in rules.stations)
        yield _labelled(GaugeMetricFamily, "kanban_edge_stations", "Stations by WIP state", "state",
                        {state: states[state] for state in ("normal", "warning", "limit")})

    def _outbox(self) -> Iterator[Metric]:
        connectors = self._service.connectors
        if connectors.outbox is not None:
            items = GaugeMetricFamily("kanban_edge_outbox_items", "Outbox items by consumer and status",
                                      labels=["consumer", "status"])
            dropped = CounterMetricFamily("kanban_edge_outbox_dropped_total", "Items the outbox's size cap dropped",
                                          labels=["consumer"])
            for consumer, counts in connectors.outbox.stats().items():
                for status in ("pending", "delivered", "dead"):
                    items.add_metric([consumer, status], counts.get(status, 0))
                dropped.add_metric([consumer], counts.get("dropped", 0))
            yield items
            yield dropped
        if connectors.influx is not None:
            stats = connectors.influx.stats
            lines = CounterMetricFamily("kanban_edge_influx_lines_total",
                                        "InfluxDB lines: queued in the outbox, written, refused, dropped",
                                        labels=["outcome"])
            for outcome, count in (("queued", stats.queued), ("written", stats.written), ("refused", stats.rejected),
                                   ("dropped", stats.dropped)):
                lines.add_metric([outcome], count)
            yield lines


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _labelled(
    kind: type[CounterMetricFamily] | type[GaugeMetricFamily], name: str, documentation: str, label: str,
    values: dict[str, int] | Counter[str],
) -> Metric:
    family = kind(name, documentation, labels=[label])
    for value, count in sorted(values.items()):
        family.add_metric([value], count)
    return family
