"""The simulated plant's kanban side on the demo plant: cards dropped at the post when a container is empty,
deliveries after the supplier's lead time divided by the speed, the dock reading the card that comes back."""

from __future__ import annotations

import random

import pytest

from config.bundled import DEMO_PLANT
from config.load import load_config
from edge.sim.plant import Message, PlantSimulation
from gateway.ingest.rfid_payloads import decode_rfid

SPEED = 3600.0  # an hour a second: the demo plant's acme delivers in 8 s, polytec in 24 s
PREFIX = "kanban/demo-plant"


@pytest.fixture
def plant() -> PlantSimulation:
    return PlantSimulation(load_config(DEMO_PLANT), speed=SPEED, rng=random.Random(4), now=0.0)


def reads(messages: list[Message], reader: str) -> list[str]:
    return [read.epc for m in messages if m.topic == f"{PREFIX}/rfid/{reader}" for read in decode_rfid(m.payload)]


def released(bin_id: str, card: int, signal_id: str) -> dict[str, object]:
    return {"type": "signal_released", "bin_id": bin_id, "card": card, "signal_id": signal_id}


def test_every_bin_publishes_a_reading_on_its_scale_topic_each_step(plant: PlantSimulation) -> None:
    topics = {m.topic for m in plant.step(0.0, 1.0)}
    assert f"{PREFIX}/scale/L1-S11-M8X20" in topics
    assert "tele/tasmota-hx711-7/SENSOR" in topics
    assert len([t for t in topics if "/rfid/" not in t]) == 30


def test_an_emptied_container_drops_its_card_at_the_post_once(plant: PlantSimulation) -> None:
    grommet = plant.bins["L1-S13-GROMMET"]  # two containers of 250, cards on tags ...1301 and ...1302
    grommet.pieces, grommet.use_per_s = 251.0, 0.0
    assert reads(plant.step(0.0, 1.0), "post-L1") == []
    grommet.pieces = 249.0
    assert reads(plant.step(1.0, 1.0), "post-L1") == ["E28011606000020A1B2C1301"]
    assert reads(plant.step(2.0, 1.0), "post-L1") == []  # the card is out: not read again


def test_a_released_card_comes_back_full_after_the_lead_time_and_the_dock_reads_it(plant: PlantSimulation) -> None:
    housing = plant.bins["L1-S14-HOUSING"]  # polytec, 24 h: 24 s at this speed, give or take a fifth
    housing.pieces, housing.use_per_s = 10.0, 0.0
    plant.step(0.0, 1.0)  # both containers but one empty: card 1 goes to the post
    plant.on_signal(released("L1-S14-HOUSING", 1, "L1-S14-HOUSING-1"), 0.0)
    plant.on_signal(released("L1-S14-HOUSING", 1, "L1-S14-HOUSING-1"), 0.5)  # redelivered: one order
    docked: list[tuple[float, list[str]]] = []
    for t in range(1, 40):
        epcs = reads(plant.step(float(t), 1.0), "dock-1")
        if epcs:
            docked.append((t, epcs))
    assert len(docked) == 1
    [(at, epcs)] = docked
    assert 24 * 0.8 <= at <= 24 * 1.25 + 1
    assert epcs == ["E28011606000020A1B2C1401"]
    assert housing.pieces == pytest.approx(50.0, abs=1)  # one container of 40 more


def test_a_scale_loop_is_refilled_without_a_dock_read(plant: PlantSimulation) -> None:
    bolts = plant.bins["L1-S11-M8X20"]  # acme, 8 h: 8 s here
    bolts.pieces, bolts.use_per_s = 150.0, 0.0
    plant.on_signal(released("L1-S11-M8X20", 1, "L1-S11-M8X20-1"), 0.0)
    messages = [m for t in range(1, 12) for m in plant.step(float(t), 1.0)]
    assert reads(messages, "dock-1") == []
    assert bolts.pieces == pytest.approx(350.0, abs=1)
