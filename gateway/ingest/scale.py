"""Scale readings: payload → `Reading` → the bin's rule → staged effects."""

from __future__ import annotations

from array import array

from gateway.ingest.errors import PayloadError
from gateway.ingest.scale_payloads import decode_scale
from gateway.messages import event_body
from gateway.state.committer import Committer
from rules.engine import Engine
from rules.events import Event
from rules.scale_bin import Reading, Verdict


class BinMarks:
    """Bins marked since the last `take`, by their number in the plant: a byte a bin and the numbers in the
    order marked. A set of the ids of a plant of 50,000 reporting bins holds a 2 MB table."""

    __slots__ = ("_flags", "_marked")

    def __init__(self, bins: int) -> None:
        self._flags = bytearray(bins)
        self._marked = array("i")

    def add(self, number: int) -> None:
        """Mark a bin (again: no change)."""
        if not self._flags[number]:
            self._flags[number] = 1
            self._marked.append(number)

    def take(self) -> array[int]:
        """The bins marked since the last call, in the order marked; unmarks them."""
        marked, self._marked = self._marked, array("i")
        for number in marked:
            self._flags[number] = 0
        return marked


class ScaleIngest:
    """The topic handler for scale bins; remembers which bins changed since the last snapshot."""

    def __init__(
        self, *, engine: Engine, site: str, committer: Committer, max_clock_skew_s: float,
    ) -> None:
        self._engine = engine
        self._site = site
        self._committer = committer
        self._max_skew_s = max_clock_skew_s
        self.received = 0  # messages handled, for the metrics
        self.dirty = BinMarks(len(engine))  # bins whose level changed since the last snapshot
        self.moved = BinMarks(len(engine))  # bins whose level changed since the last Andon refresh

    def handle(self, bin_id: str, payload: bytes, now: float) -> bool:
        """Apply one reading; True when it caused effects (its acknowledgement waits for their commit)."""
        self.received += 1
        return self.apply(bin_id, decode_scale(payload, now=now, max_skew_s=self._max_skew_s), now)

    def apply(self, bin_id: str, reading: Reading, now: float) -> bool:
        """Apply a decoded reading (`PayloadError` when the bin's rule refuses it); True when it caused effects."""
        scale_bin = self._engine.bin(bin_id)
        verdict, events = scale_bin.on_reading(reading, now)
        if verdict is not Verdict.APPLIED:
            raise PayloadError(verdict.value, _VERDICT_DETAIL[verdict])
        self.dirty.add(scale_bin.number)
        self.moved.add(scale_bin.number)
        if not events:
            return False
        self._stage(bin_id, events)
        return True

    def lost(self, bin_id: str, now: float) -> bool:
        """The bin's sensor is known to be gone: its stale alarm now; True when that staged an event."""
        event = self._engine.bin(bin_id).lost(now)
        if event is None:
            return False
        self._stage(bin_id, (event,))
        return True

    def _stage(self, bin_id: str, events: tuple[Event, ...]) -> None:
        ctx = self._engine.bin(bin_id).spec
        state = self._engine.state_copy(bin_id)
        for event in events:
            self._committer.stage_event(event, event_body(event, ctx, self._site), state)


_VERDICT_DETAIL = {
    Verdict.NEGATIVE_WEIGHT: "net weight below zero by more than the bin's zero tolerance",
    Verdict.OVER_CAPACITY: "weight above the full bin's weight plus the overload tolerance",
    Verdict.TOO_OLD: "reading older than the bin's stale-after time",
    Verdict.OUT_OF_ORDER: "reading older than the bin's last reading",
}
