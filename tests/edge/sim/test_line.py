"""The simulated line: stations hold their WIP near a target, and a jam builds WIP past the limit, then clears."""

from __future__ import annotations

from config.bundled import DEMO_PLANT
from config.load import load_config
from edge.sim.line import FIRST_JAM_S, LineModel


def test_wip_settles_near_the_target_and_a_jam_takes_one_station_past_its_limit_then_clears() -> None:
    stations = load_config(DEMO_PLANT).stations
    line = LineModel(stations)
    limits = {s.id: (s.wip_warning, s.wip_limit, s.hysteresis) for s in stations}
    seen_max: dict[str, int] = dict.fromkeys(limits, 0)
    jammed: set[str] = set()
    for _ in range(int(FIRST_JAM_S) - 1):
        line.step(1.0)
    assert line.jammed is None
    for _ in range(400):
        line.step(1.0)
        if line.jammed:
            jammed.add(line.jammed)
        for sid in limits:
            seen_max[sid] = max(seen_max[sid], line.wip(sid))
    assert jammed, "no jam in 400 s"
    assert {sid[:2] for sid in jammed} == {"S1"}  # one line jams: L1's stations are S11..S16
    for sid in jammed:
        warning, limit, hysteresis = limits[sid]
        assert limit is not None
        assert seen_max[sid] >= limit + hysteresis  # past the limit and its hysteresis band: the alarm clears later
    for sid in limits.keys() - jammed:
        warning, _, _ = limits[sid]
        assert warning is not None
        assert seen_max[sid] < warning + 4  # the stations that did not jam stay near their target
    assert all(line.wip(sid) >= 0 for sid in limits)


def test_counters_only_count_up() -> None:
    line = LineModel(load_config(DEMO_PLANT).stations)
    before = dict(line.totals)
    for _ in range(200):
        line.step(1.0)
        assert all(line.totals[ref] >= before[ref] for ref in before)
        before = dict(line.totals)
