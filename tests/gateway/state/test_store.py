"""The store: a version 1 database is migrated in place; transitions and idempotent answers are kept."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest

from gateway.state.cards import IdempotentAnswer, SignalQuery
from gateway.state.store import PRUNE_CHUNK, Batch, EventPrune, Store, StoreError
from rules.cards import Card
from rules.events import SignalChanged, SignalReleased
from rules.scale_bin import BinState
from tests.loops import logged, loop_info

CTX = {
    "B1": loop_info(sku="A", line="L1", station="S1", supplier="acme", quantity=100),
    "B2": loop_info(sku="A", line="L2", station="S1", supplier="wh", quantity=50),
}

# The schema as version 1 created it, with what a running plant had stored.
V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE bin_state (
    bin_id TEXT PRIMARY KEY, armed INTEGER NOT NULL, open_signal TEXT, signals_released INTEGER NOT NULL,
    stale INTEGER NOT NULL, pieces INTEGER, weight_g REAL, last_ts REAL, last_seen REAL
);
CREATE TABLE signals (
    id TEXT PRIMARY KEY, bin_id TEXT NOT NULL, sku TEXT NOT NULL, line TEXT NOT NULL, station TEXT NOT NULL,
    supplier TEXT, quantity INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    released_at REAL NOT NULL, pieces_at_release INTEGER NOT NULL,
    closed_at REAL, pieces_at_close INTEGER, close_reason TEXT
);
CREATE INDEX signals_by_status ON signals (status, released_at);
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, bin_id TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'cleared')), raised_at REAL NOT NULL, cleared_at REAL
);
CREATE UNIQUE INDEX one_active_alarm ON alarms (bin_id, kind) WHERE status = 'active';
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, bin_id TEXT NOT NULL, ts REAL NOT NULL,
    body TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX unpublished_events ON events (published) WHERE published = 0;
CREATE TABLE rejections (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO bin_state VALUES ('B1', 0, 'B1-2', 2, 0, 25, 750.0, 100.0, 100.0);
INSERT INTO bin_state VALUES ('B2', 1, NULL, 1, 1, 90, 1400.0, 90.0, 90.0);
INSERT INTO signals VALUES ('B1-1', 'B1', 'A', 'L1', 'S1', 'acme', 100, 'closed', 10.0, 28, 20.0, 120, 'refilled');
INSERT INTO signals VALUES ('B1-2', 'B1', 'A', 'L1', 'S1', 'acme', 100, 'open', 50.0, 29, NULL, NULL, NULL);
INSERT INTO rejections VALUES ('invalid_json', 3);
"""


def v1_database(tmp_path: Path) -> Path:
    db = tmp_path / "v1.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(V1)
    conn.close()
    return db


def test_a_version_1_database_is_migrated_in_place(tmp_path: Path) -> None:
    store = Store(v1_database(tmp_path))
    states = store.bin_states()
    assert (states["B1"].depth, states["B1"].open_cards) == (1, (Card(1, "B1-2", "released", 50.0),))
    assert (states["B1"].signals_released, states["B1"].pieces) == (2, 25)
    assert (states["B2"].depth, states["B2"].open_cards, states["B2"].stale) == (0, (), True)
    closed = store.signal("B1-1")
    assert closed is not None
    assert (closed["status"], closed["card"], closed["close_reason"]) == ("received", 1, "refill")
    steps = [(t["kind"], t["ts"]) for t in closed["transitions"]]
    assert steps == [("signal_released", 10.0), ("signal_received", 20.0)]
    assert [s["id"] for s in store.signals(SignalQuery(status="open"))] == ["B1-2"]
    assert store.rejection_counts() == {"invalid_json": 3}
    store.close()
    # Opening it again changes nothing.
    again = Store(tmp_path / "v1.db")
    assert again.bin_states() == states
    again.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="schema 99"):
        Store(db)


def test_transitions_and_the_idempotent_answer_are_written_with_their_events(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    card = Card(1, "B1-1", "released", 5.0)
    release = SignalReleased("B1", "B1-1", 1, 5.0, 20, "scale", urgent=True)
    store.write(Batch(events=[logged(release, CTX["B1"])], states={"B1": BinState(depth=1, open_cards=(card,))}))
    ship = SignalChanged("B1", "B1-1", 1, 6.0, "signal_shipped", "acme", pieces=18, quantity=100, asn="ASN-1")
    answer = IdempotentAnswer("k-1", "POST /api/v1/signals/B1-1/ship", "B1-1", 6.0)
    store.write(Batch(events=[(ship, {})], answers=[answer]))
    row = store.signal("B1-1")
    assert row is not None
    assert (row["status"], row["shipped_qty"], row["asn"], row["urgent"]) == ("shipped", 100, "ASN-1", 1)
    assert [(t["kind"], t["by"], t["detail"]) for t in row["transitions"]] == [
        ("signal_released", "scale", {"pieces": 20}),
        ("signal_shipped", "acme", {"pieces": 18, "quantity": 100, "asn": "ASN-1"}),
    ]
    request, first = store.idempotent_answer("k-1") or ("", {})
    assert request == "POST /api/v1/signals/B1-1/ship"
    assert first == row
    store.close()


def test_signal_queries_filter_and_page_by_cursor(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    events = [SignalReleased(bin_id, f"{bin_id}-{n}", 1, float(n), 0, "scale") for n in range(1, 6)
              for bin_id in ("B1", "B2")]
    store.write(Batch(events=[logged(e, CTX[e.bin_id]) for e in events]))
    assert [s["id"] for s in store.signals(SignalQuery(supplier="wh", limit=3))] == ["B2-5", "B2-4", "B2-3"]
    assert [s["id"] for s in store.signals(SignalQuery(line="L1", since=4.0))] == ["B1-5", "B1-4"]
    page = store.signals(SignalQuery(limit=3, before=(4.0, "B1-4")))
    assert [s["id"] for s in page] == ["B2-3", "B1-3", "B2-2"]
    assert store.signals(SignalQuery(status="closed")) == []
    assert len(store.signals(SignalQuery(status="released"))) == 10
    store.close()


def test_old_events_leave_the_log_only_once_published_and_taken_by_the_connectors(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    releases = [SignalReleased("B1", f"B1-{i}", 1, float(i), 20, "scale") for i in range(1, 7)]
    store.write(Batch(events=[logged(e, CTX["B1"]) for e in releases]))  # seqs 1..6 at ts 1..6
    store.write(Batch(published=[1, 2, 3, 5, 6]))  # seq 4 never went out on MQTT

    store.write(Batch(prune_events=EventPrune(before=6.0, up_to=5)))
    # 1-3 and 5 go; 4 waits for MQTT, 6 is recent enough (and beyond what the connectors took).
    assert [seq for seq, _ in store.events_after(0, 100)] == [4, 6]
    assert [(seq, bin_id, json.loads(raw)["signal_id"]) for seq, bin_id, raw in store.unpublished_events()] == [
        (4, "B1", "B1-4")
    ]
    store.close()


def test_pruning_deletes_a_bounded_chunk_per_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    count = PRUNE_CHUNK + 10
    store.write(Batch(events=[logged(SignalReleased("B1", f"B1-{i}", 1, 1.0, 20, "scale")) for i in range(count)]))
    store.write(Batch(published=list(range(1, count + 1))))
    prune = EventPrune(before=2.0, up_to=sys.maxsize)
    store.write(Batch(prune_events=prune))
    assert len(store.events_after(0, count)) == 10
    store.write(Batch(prune_events=prune))
    assert store.events_after(0, count) == []
    assert store.last_event_seq() == count  # the newest seq ever given, though the log is empty
    store.write(Batch(events=[logged(SignalReleased("B1", "B1-x", 1, 3.0, 20, "scale"))]))
    assert [seq for seq, _ in store.events_after(0, 10)] == [count + 1]
    store.close()
