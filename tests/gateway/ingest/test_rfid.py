"""RFID reads become card actions: the acknowledgement waits only for reads that changed a card."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from config.plant import PlantConfig
from gateway.ingest.rfid import RfidIngest
from gateway.state.committer import Committer
from gateway.state.store import Store
from rules.engine import Engine

CARD = "E28011606000020A1B2C3D01"
SGTIN = "3074257BF7194E4000001A85"  # GTIN 80614141123458
GRAI = "3374257BF40C0E4000000190"  # a returnable container of asset type (GRAI) 00614141123452, serial 400
GRAI_OTHER = "3374257BF40C0E4000000191"  # another container of the same type


def plant(tmp_path: Path, window_s: float) -> PlantConfig:
    return PlantConfig.model_validate({
        "site": "p", "storage": {"path": str(tmp_path / "s.db")},
        "items": [{"sku": "A", "unit_weight_g": 1}, {"sku": "W", "unit_weight_g": 1, "gtin": "80614141123458"}],
        "bins": [{"id": b, "sku": sku, "line": "L1", "station": "S1", "container_qty": 10, "cards": 2,
                  "reorder_point": 2} for b, sku in (("A1", "A"), ("W1", "W"), ("W2", "W"))],
        "rfid": {"dedup_window_s": window_s,
                 "readers": [{"id": "post", "role": "kanban_post", "loops": ["W2"]},
                             {"id": "dock", "role": "receiving"}],
                 "tags": [{"epc": CARD, "loop": "A1", "card": 2}],
                 "asset_types": [{"grai": "00614141123452", "loops": ["A1"]}]},
    })


def ingest(tmp_path: Path, window_s: float = 5.0) -> tuple[RfidIngest, Engine]:
    config = plant(tmp_path, window_s)
    engine = Engine(specs=config.bin_specs(), started_at=0.0)
    committer = Committer(store=Store(config.storage.path), executor=ThreadPoolExecutor(1),
                          on_committed=lambda batch: None)
    return RfidIngest.for_plant(config, engine=engine, committer=committer), engine


def speedway(epc: str, antenna: int = 1) -> bytes:
    return json.dumps({"antennaPort": antenna, "epc": epc, "peakRssi": -50, "isHeartBeat": False}).encode()


def test_only_reads_that_change_a_card_hold_their_acknowledgement(tmp_path: Path) -> None:
    rfid, engine = ingest(tmp_path, window_s=0.0)
    assert rfid.handle("post", speedway(CARD), 1.0) is True  # card 2 of A1 released
    assert rfid.handle("post", speedway(CARD), 2.0) is False  # already out: nothing to wait for
    assert engine.open_cards("A1") == 1
    assert rfid.handle("dock", speedway(CARD), 3.0) is True
    assert rfid.handle("dock", speedway(CARD), 4.0) is False
    assert engine.open_cards("A1") == 0


def test_reads_within_the_window_are_one_read_per_tag_and_antenna(tmp_path: Path) -> None:
    rfid, engine = ingest(tmp_path, window_s=5.0)
    assert rfid.handle("post", speedway(CARD), 1.0) is True
    rfid.handle("dock", speedway(CARD), 2.0)  # same tag and antenna 1 s later: the same read
    assert engine.open_cards("A1") == 1
    rfid.handle("dock", speedway(CARD, antenna=2), 2.5)  # another antenna: a read of its own
    assert engine.open_cards("A1") == 0


def test_gtin_tags_go_to_the_one_loop_the_reader_serves_and_unknown_tags_are_counted(tmp_path: Path) -> None:
    rfid, engine = ingest(tmp_path, window_s=0.0)
    assert rfid.handle("post", speedway(SGTIN), 1.0) is True  # W1 and W2 hold the sku; post serves W2
    assert (engine.open_cards("W1"), engine.open_cards("W2")) == (0, 1)
    assert rfid.handle("dock", speedway(SGTIN), 2.0) is False  # the dock serves both: no single loop
    assert rfid.handle("post", speedway("E2801160600002054E7F8AFF"), 3.0) is False
    assert rfid.unknown_tags == 2


def test_a_returnable_container_stands_for_a_card_of_its_asset_types_loop(tmp_path: Path) -> None:
    rfid, engine = ingest(tmp_path, window_s=0.0)
    assert rfid.handle("post", speedway(GRAI), 1.0) is False  # the post serves W2 only: not this type's loop
    assert rfid.handle("dock", speedway(GRAI), 2.0) is False  # nothing of A1 is out yet
    rfid.handle("post", speedway(CARD), 3.0)  # card 2 of A1 goes out by its own tag
    assert rfid.handle("dock", speedway(GRAI_OTHER), 4.0) is True  # any container of the type receives it
    assert engine.open_cards("A1") == 0
