"""A simulated bin: picks read unstable, the rest stable with noise, spikes far over the full bin."""

from __future__ import annotations

import json
import random

import pytest

from edge.sim.scales import SimBin


def bin_(**changes: object) -> SimBin:
    fields: dict[str, object] = dict(bin_id="B1", topic="t", tasmota=False, unit_weight_g=10.0, tare_g=500.0,
                                     container_qty=100, capacity=200, pieces=150.0, use_per_s=2.0)
    fields.update(changes)
    return SimBin(**fields)  # type: ignore[arg-type]


class NoSpike(random.Random):
    def random(self) -> float:
        return 0.5


def test_a_pick_reads_unstable_and_the_next_reading_is_stable_with_the_pieces_gone() -> None:
    sim, rng = bin_(), NoSpike(1)
    readings = [json.loads(sim.step(1.0, rng)) for _ in range(8)]
    unstable = [i for i, r in enumerate(readings) if not r["stable"]]
    assert unstable, readings
    after = readings[unstable[0] + 1]
    assert after["stable"]
    assert after["weight_g"] < readings[0]["weight_g"] - 10  # pieces left the bin
    assert all(abs(r["weight_g"] - (500 + 10 * round((r["weight_g"] - 500) / 10))) < 1.5
               for r in readings if r["stable"])  # a stable reading is whole pieces plus a little noise


def test_a_spike_is_far_over_the_full_bin() -> None:
    class Spike(random.Random):
        def random(self) -> float:
            return 0.0

    reading = json.loads(bin_().step(1.0, Spike(1)))
    assert reading["weight_g"] > 500 + 200 * 10 * 1.2  # the service rejects it as over_capacity


def test_a_delivered_container_waits_until_it_fits() -> None:
    sim = bin_(pieces=190.0, use_per_s=0.0)
    sim.deliver()
    sim.step(1.0, NoSpike(1))
    assert (sim.pieces, sim.waiting) == (190.0, 1)  # 290 would not fit in a bin of 200
    sim.pieces = 100.0
    sim.step(1.0, NoSpike(1))
    assert (sim.pieces, sim.waiting) == (200.0, 0)


def test_a_tasmota_bin_publishes_kilograms_in_hx711_telemetry() -> None:
    reading = json.loads(bin_(tasmota=True, use_per_s=0.0).step(1.0, NoSpike(1)))
    assert reading["HX711"]["Weight"] == pytest.approx(2.0, abs=0.002)  # 2 kg and a little noise
