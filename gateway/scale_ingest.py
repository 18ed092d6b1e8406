"""Scale readings: payload → `Reading` → the bin's rule → staged effects."""

from __future__ import annotations

from collections.abc import Mapping

from connectors.webhook_payload import LoopInfo
from gateway.committer import Committer
from gateway.errors import PayloadError
from gateway.messages import event_body
from gateway.scale_payloads import decode_scale
from rules.engine import Engine
from rules.scale_bin import Verdict


class ScaleIngest:
    """The topic handler for scale bins; remembers which bins changed since the last snapshot."""

    def __init__(
        self, *, engine: Engine, contexts: Mapping[str, LoopInfo], site: str, committer: Committer,
        max_clock_skew_s: float,
    ) -> None:
        self._engine = engine
        self._contexts = contexts
        self._site = site
        self._committer = committer
        self._max_skew_s = max_clock_skew_s
        self.dirty: set[str] = set()  # bins whose level changed since the last snapshot
        self.moved: set[str] = set()  # bins whose level changed since the last Andon refresh

    def take_dirty(self) -> set[str]:
        """The bins changed since the last call."""
        dirty, self.dirty = self.dirty, set()
        return dirty

    def handle(self, bin_id: str, payload: bytes, now: float) -> bool:
        """Apply one reading; True when it caused effects (its acknowledgement waits for their commit)."""
        reading = decode_scale(payload, now=now, max_skew_s=self._max_skew_s)
        verdict, events = self._engine.on_reading(bin_id, reading, now)
        if verdict is not Verdict.APPLIED:
            raise PayloadError(verdict.value, _VERDICT_DETAIL[verdict])
        self.dirty.add(bin_id)
        self.moved.add(bin_id)
        if not events:
            return False
        ctx = self._contexts[bin_id]
        state = self._engine.state_copy(bin_id)
        for event in events:
            self._committer.stage_event(event, event_body(event, ctx, self._site), state)
        return True


_VERDICT_DETAIL = {
    Verdict.NEGATIVE_WEIGHT: "net weight below zero by more than the bin's zero tolerance",
    Verdict.OVER_CAPACITY: "weight above the full bin's weight plus the overload tolerance",
    Verdict.TOO_OLD: "reading older than the bin's stale-after time",
    Verdict.OUT_OF_ORDER: "reading older than the bin's last reading",
}
