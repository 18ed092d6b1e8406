"""Stations fed by counters: WIP, chained stations, physical counts, WIP alarms and PLC liveness."""

from __future__ import annotations

from rules.counters import CounterSpec, CounterState
from rules.events import AlarmCleared, AlarmRaised, WipChanged
from rules.floor import CounterVerdict, Floor, PlcSpec
from rules.stations import StationSpec, StationState


def floor(**saved: object) -> Floor:
    counters = [CounterSpec(f"plc1/{n}", max_value=65535, max_step=1000) for n in ("in1", "out1", "out2")]
    stations = [
        StationSpec("S1", "L1", inputs=("plc1/in1",), outputs=("plc1/out1",), wip_warning=8, wip_limit=10,
                    hysteresis=2),
        # S2 takes what S1 puts out.
        StationSpec("S2", "L1", inputs=("plc1/out1",), outputs=("plc1/out2",)),
    ]
    return Floor(plcs=[PlcSpec("plc1", offline_after_s=30)], counters=counters, stations=stations,
                 started_at=0.0, **saved)  # type: ignore[arg-type]


def wip(f: Floor) -> dict[str, int]:
    return {sid: s.state.wip for sid, s in f.stations.items()}


def test_wip_is_in_minus_out_and_chains_to_the_next_station() -> None:
    f = floor()
    for counter in ("in1", "out1", "out2"):
        f.on_counter(f"plc1/{counter}", 100, 1.0)  # first values are baselines
    verdict, change = f.on_counter("plc1/in1", 105, 2.0)
    assert verdict is CounterVerdict.APPLIED
    assert change.events == [WipChanged(subject="S1", ts=2.0, wip=5, delta=5, reason="counted")]
    assert change.counters == {"plc1/in1": CounterState(105, 2.0)}
    _, change = f.on_counter("plc1/out1", 103, 3.0)
    assert wip(f) == {"S1": 2, "S2": 3}
    assert change.produced == {"S1": 3}
    assert set(change.stations) == {"S1", "S2"}
    f.on_counter("plc1/out2", 101, 4.0)
    assert wip(f) == {"S1": 2, "S2": 2}
    assert f.stations["S2"].state == StationState(wip=2, units_in=3, units_out=1, updated_at=4.0)


def test_repeated_value_changes_nothing() -> None:
    f = floor()
    f.on_counter("plc1/in1", 7, 1.0)
    _, change = f.on_counter("plc1/in1", 7, 2.0)
    assert not change


def test_older_value_is_out_of_order() -> None:
    f = floor()
    f.on_counter("plc1/in1", 7, 5.0)
    verdict, change = f.on_counter("plc1/in1", 9, 4.0)
    assert verdict is CounterVerdict.OUT_OF_ORDER
    assert not change
    assert f.on_counter("plc1/in1", 70_000, 6.0)[0] is CounterVerdict.OUT_OF_RANGE


def test_plc_restart_does_not_burst_wip() -> None:
    f = floor()
    f.on_counter("plc1/in1", 50_000, 1.0)
    f.on_counter("plc1/in1", 50_004, 2.0)
    f.on_counter("plc1/in1", 2, 3.0)  # the PLC restarted and counted two since
    assert wip(f)["S1"] == 6


def test_wip_never_goes_negative() -> None:
    f = floor()
    f.on_counter("plc1/out1", 0, 1.0)
    f.on_counter("plc1/out1", 5, 2.0)
    assert wip(f)["S1"] == 0


def test_warning_and_limit_with_hysteresis() -> None:
    f = floor()
    f.on_counter("plc1/in1", 0, 0.0)
    f.on_counter("plc1/out1", 0, 0.0)
    _, change = f.on_counter("plc1/in1", 8, 1.0)
    assert [(e.kind, getattr(e, "alarm_kind", None)) for e in change.events] == [
        ("wip_changed", None), ("alarm_raised", "wip_warning"),
    ]
    assert f.station_state("S1") == "warning"
    _, change = f.on_counter("plc1/in1", 10, 2.0)
    assert AlarmRaised(subject="S1", alarm_kind="wip_limit", ts=2.0, detail="WIP 10 >= 10") in change.events
    assert f.station_state("S1") == "limit"
    _, change = f.on_counter("plc1/out1", 2, 3.0)  # WIP 8: inside the hysteresis band of the limit
    assert [e.kind for e in change.events if e.subject == "S1"] == ["wip_changed"]
    _, change = f.on_counter("plc1/out1", 3, 4.0)  # WIP 7: below 10 - 2
    assert AlarmCleared(subject="S1", alarm_kind="wip_limit", ts=4.0, detail="WIP 10 >= 10") in change.events
    assert f.station_state("S1") == "warning"


def test_physical_count_sets_wip_and_evaluates_alarms() -> None:
    f = floor()
    change = f.set_wip("S1", 12, 5.0)
    assert change.events[0] == WipChanged(subject="S1", ts=5.0, wip=12, delta=12, reason="physical_count")
    assert f.station_state("S1") == "limit"
    f.set_wip("S1", 0, 6.0)
    assert f.station_state("S1") == "normal"
    assert not f.alarms.is_open("S1", "wip_limit")


def test_state_survives_a_restart() -> None:
    f = floor()
    f.on_counter("plc1/in1", 0, 0.0)
    f.on_counter("plc1/in1", 11, 1.0)
    g = floor(counter_states={"plc1/in1": CounterState(11, 1.0)},
              station_states={"S1": f.stations["S1"].state}, open_alarms=list(f.alarms))
    _, change = g.on_counter("plc1/in1", 11, 2.0)  # the same value redelivered
    assert not change
    _, change = g.on_counter("plc1/in1", 12, 3.0)
    assert [e.kind for e in change.events] == ["wip_changed"]  # alarms already open: nothing raised twice
    assert wip(g)["S1"] == 12


def test_plc_offline_when_reported_or_silent() -> None:
    f = floor()
    assert not f.tick(30.0)
    assert f.tick(31.0).events == [
        AlarmRaised(subject="plc1", alarm_kind="plc_offline", ts=31.0, detail="nothing heard for 30 s")
    ]
    assert f.plc_seen("plc1", 32.0).events == [
        AlarmCleared(subject="plc1", alarm_kind="plc_offline", ts=32.0, detail="nothing heard for 30 s")
    ]
    change = f.plc_status("plc1", online=False, now=33.0, detail="connection refused")
    assert change.events == [
        AlarmRaised(subject="plc1", alarm_kind="plc_offline", ts=33.0, detail="connection refused")
    ]
    assert not f.plc_seen("plc1", 34.0)  # still reported offline
    assert f.plc_status("plc1", online=True, now=35.0).events == [
        AlarmCleared(subject="plc1", alarm_kind="plc_offline", ts=35.0, detail="connection refused")
    ]


def test_rates_count_the_trailing_hour() -> None:
    f = floor()
    f.on_counter("plc1/out1", 0, 0.0)
    f.on_counter("plc1/out1", 30, 600.0)
    f.on_counter("plc1/out1", 50, 3000.0)
    assert f.stations["S1"].rate_out.per_hour(3000.0) == 50.0
    assert f.stations["S1"].rate_out.per_hour(4300.0) == 20.0


def stall_floor() -> Floor:
    counters = [CounterSpec("plc1/out", max_value=65535, max_step=1000)]
    station = StationSpec("S1", "L1", inputs=(), outputs=("plc1/out",), stalled_after_s=60)
    return Floor(plcs=[PlcSpec("plc1", offline_after_s=1e9)], counters=counters, stations=[station], started_at=0.0)


def stalled(change: object) -> list[str]:
    return [e.kind for e in change.events if getattr(e, "alarm_kind", None) == "counter_stalled"]  # type: ignore[attr-defined]


def test_counter_stalled_only_while_scheduled() -> None:
    f = stall_floor()
    assert stalled(f.tick(100.0)) == []  # not scheduled: never stalled
    assert stalled(f.tick(101.0, scheduled={"S1"})) == []  # the schedule starts now: the minute counts from here
    assert stalled(f.tick(161.0, scheduled={"S1"})) == []
    assert stalled(f.tick(162.0, scheduled={"S1"})) == ["alarm_raised"]
    f.on_counter("plc1/out", 5, 163.0)
    f.on_counter("plc1/out", 6, 164.0)  # output again
    assert stalled(f.tick(165.0, scheduled={"S1"})) == ["alarm_cleared"]
    assert stalled(f.tick(225.0, scheduled={"S1"})) == ["alarm_raised"]
    assert stalled(f.tick(226.0)) == ["alarm_cleared"]  # the shift ended
