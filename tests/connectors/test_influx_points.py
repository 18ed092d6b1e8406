"""Points for InfluxDB: events by type with bounded tags, levels by exception."""

from __future__ import annotations

from connectors.influx_points import Level, LevelFilter, event_point, measurement_of, outbox_point
from connectors.line_protocol import line
from tests.loops import loop_info

LOOPS = {"B1": loop_info(sku="BOLT", quantity=100, supplier="acme", line="L1", station="S1")}


def level(pct: float, ts: float, *, stale: bool = False) -> Level:
    return Level(bin_id="B1", pieces=int(pct), weight_g=None, level_pct=pct, stale=stale, ts=ts)


def test_levels_are_written_by_exception_dead_band_health_or_heartbeat() -> None:
    f = LevelFilter(deadband_pct=2.0, heartbeat_s=60)
    assert f.due(level(50, ts=100), now=100) == 100  # first
    assert f.due(level(51.5, ts=101), now=101) is None  # inside the dead-band
    assert f.due(level(52.5, ts=102), now=102) == 102  # moved more than 2 points since the last written
    assert f.due(level(52.5, ts=103, stale=True), now=103) == 103  # health changed
    assert f.due(level(52.5, ts=103, stale=True), now=150) is None
    assert f.due(level(52.5, ts=103, stale=True), now=163) == 163  # heartbeat, stamped now
    assert f.due(level(52.5, ts=103, stale=True), now=164) is None


def test_signal_event_becomes_a_point_with_loop_tags_and_ids_as_fields() -> None:
    body = {"type": "signal_released", "site": "p7", "bin_id": "B1", "ts": "2026-11-27T10:00:00.250Z",
            "signal_id": "B1-3", "quantity": 100, "pieces": 25, "urgent": True, "seq": 9}
    point = event_point(body, LOOPS)
    assert point.measurement == "kanban_signal"
    assert dict(point.tags) == {"site": "p7", "type": "signal_released", "bin": "B1", "line": "L1", "station": "S1",
                                "sku": "BOLT", "supplier": "acme"}
    assert dict(point.fields) == {"signal_id": "B1-3", "quantity": 100, "pieces": 25, "urgent": True, "seq": 9}
    assert point.ts_ms == 1795773600250


def test_kinds_of_events_map_to_measurements_and_unknown_ones_still_flow() -> None:
    assert [measurement_of(t) for t in ("signal_shipped", "alarm_raised", "sensor_stale", "wip_changed",
                                        "andon_changed", "card_scanned")] == [
        "kanban_signal", "alarm", "sensor_health", "station_wip", "andon", "event"]
    body = {"type": "card_scanned", "site": "p7", "ts": "2026-11-27T10:00:00Z", "station": "S9", "reader": "r1",
            "nested": {"x": 1}, "seq": 3}
    assert line(event_point(body, LOOPS)) == (
        "event,site=p7,station=S9,type=card_scanned reader=\"r1\",seq=3i 1795773600000"
    )


def test_outbox_counts_become_a_point_per_consumer_with_every_status() -> None:
    point = outbox_point(site="p7", consumer="webhook:acme", counts={"pending": 3, "dead": 1}, ts=1.5)
    assert line(point) == "outbox,consumer=webhook:acme,site=p7 pending=3i,delivered=0i,dead=1i,dropped=0i 1500"
