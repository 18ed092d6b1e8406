"""Documents delivery targets made for signals are kept on the signal, in the store's transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from gateway.api.views import signal_out
from gateway.state.documents import DocumentChange
from gateway.state.store import SCHEMA_VERSION, Batch, Store
from rules.events import SignalReleased
from tests.gateway.state.test_store import v1_database
from tests.loops import logged


def test_a_document_made_then_cancelled_is_on_the_signal_and_in_the_api_view(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.write(Batch(events=[logged(SignalReleased("B1", "B1-1", 1, 5.0, 20, "scale"))]))
    assert store.document("B1-1", "erpnext") is None

    store.write(Batch(documents=[DocumentChange("B1-1", "erpnext", "MAT-MR-2026-00012", 6.0)]))
    store.write(Batch(documents=[DocumentChange("B1-1", "odoo", "42", 6.5)]))
    assert store.document("B1-1", "erpnext") == ("MAT-MR-2026-00012", False)
    store.write(Batch(documents=[DocumentChange("B1-1", "erpnext", "MAT-MR-2026-00012", 7.0, cancelled=True)]))
    assert store.document("B1-1", "erpnext") == ("MAT-MR-2026-00012", True)

    row = store.signal("B1-1")
    assert row is not None
    view = signal_out(row)
    assert [(d.target, d.document_id, d.created_at, d.cancelled_at) for d in view.documents] == [
        ("erpnext", "MAT-MR-2026-00012", "1970-01-01T00:00:06.000Z", "1970-01-01T00:00:07.000Z"),
        ("odoo", "42", "1970-01-01T00:00:06.500Z", None),
    ]
    store.close()


def test_an_old_database_gets_the_documents_table_by_its_schema_step(tmp_path: Path) -> None:
    store = Store(v1_database(tmp_path))
    store.write(Batch(documents=[DocumentChange("B1-2", "erpnext", "MAT-MR-1", 60.0)]))
    row = store.signal("B1-2")
    assert row is not None
    assert [d["document_id"] for d in row["documents"]] == ["MAT-MR-1"]
    store.close()
    with sqlite3.connect(tmp_path / "v1.db") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    conn.close()
