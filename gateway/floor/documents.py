"""The documents delivery targets (ERPs) made for signals, as the connectors see them: read from the store,
recorded through the committer, so a document id is on the signal before its delivery counts as done."""

from __future__ import annotations

from collections.abc import Callable

from gateway.state.committer import Committer, Request
from gateway.state.documents import DocumentChange
from gateway.state.store import Store


class SignalDocuments:
    """The connectors' `Documents` (connectors/targets.py), kept in the state database."""

    def __init__(self, *, store: Store, committer: Committer, clock: Callable[[], float]) -> None:
        self._store = store
        self._committer = committer
        self._clock = clock

    def document(self, signal_id: str, target: str) -> tuple[str, bool] | None:
        """The document `target` made for the signal and whether it was cancelled, or None."""
        return self._store.document(signal_id, target)

    async def record(self, *, signal_id: str, target: str, document_id: str, cancelled: bool) -> None:
        """Commit that `target` made (or cancelled) `document_id` for the signal."""
        call = Request(f"document {document_id} of {signal_id} at {target}")
        with self._committer.staging_for(call):
            self._committer.stage_document(DocumentChange(signal_id, target, document_id, self._clock(), cancelled))
        await self._committer.commit(call)
