"""SQLite state of the documents delivery targets made for signals (an ERPNext Material Request, an Odoo purchase
order, ...): one row per signal and target, written in the store's transactions (docs/ERP.md)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

DOCUMENTS_MIGRATION = """
CREATE TABLE signal_documents (
    signal_id TEXT NOT NULL, target TEXT NOT NULL, document_id TEXT NOT NULL, created_at REAL NOT NULL,
    cancelled_at REAL, PRIMARY KEY (signal_id, target)
);
CREATE INDEX signal_documents_by_document ON signal_documents (target, document_id)
"""


@dataclass(frozen=True, slots=True)
class DocumentChange:
    """A target made (or cancelled) the document `document_id` for a signal at `ts`."""

    signal_id: str
    target: str
    document_id: str
    ts: float
    cancelled: bool = False


def write_documents(cur: sqlite3.Cursor, changes: list[DocumentChange]) -> None:
    """Record made and cancelled documents; a document made again for the same signal and target replaces it."""
    for change in changes:
        if change.cancelled:
            cur.execute(
                "INSERT INTO signal_documents VALUES (?, ?, ?, ?, ?) ON CONFLICT (signal_id, target)"
                " DO UPDATE SET cancelled_at = excluded.cancelled_at",
                (change.signal_id, change.target, change.document_id, change.ts, change.ts),
            )
        else:
            cur.execute(
                "INSERT INTO signal_documents VALUES (?, ?, ?, ?, NULL) ON CONFLICT (signal_id, target)"
                " DO UPDATE SET document_id = excluded.document_id, created_at = excluded.created_at,"
                " cancelled_at = NULL",
                (change.signal_id, change.target, change.document_id, change.ts),
            )


def documents_of(cur: sqlite3.Cursor, signal_id: str) -> list[dict[str, Any]]:
    """The documents made for a signal, by target."""
    rows = cur.execute(
        "SELECT target, document_id, created_at, cancelled_at FROM signal_documents WHERE signal_id = ?"
        " ORDER BY target",
        (signal_id,),
    ).fetchall()
    return [dict(row) for row in rows]
