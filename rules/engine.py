"""All of a plant's bins, fed readings and clock ticks."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace

from rules.cards import Action, Refusal
from rules.events import Event, SignalChanged, SignalReleased
from rules.scale_bin import BinSpec, BinState, ScaleBin


class UnknownBinError(KeyError):
    """A reading named a bin the plant does not have."""


class Specs(Mapping[str, BinSpec]):
    """The plant's bins' specs by bin id: a view of the engine's bins, not a dict of its own."""

    __slots__ = ("_bins",)

    def __init__(self, bins: dict[str, ScaleBin]) -> None:
        self._bins = bins

    def __getitem__(self, bin_id: str) -> BinSpec:
        return self._bins[bin_id].spec

    def __iter__(self) -> Iterator[str]:
        return iter(self._bins)

    def __len__(self) -> int:
        return len(self._bins)

    def __contains__(self, bin_id: object) -> bool:
        return bin_id in self._bins


class Engine:
    """The plant's rules: one `ScaleBin` per configured bin."""

    def __init__(
        self, *, specs: Iterable[BinSpec], states: dict[str, BinState] | None = None, started_at: float
    ) -> None:
        saved = states or {}
        self._bins = {
            spec.bin_id: ScaleBin(spec, saved.get(spec.bin_id), started_at=started_at, number=number)
            for number, spec in enumerate(specs)
        }
        self._numbered = list(self._bins.values())  # by `ScaleBin.number`
        # When each bin could next go stale, by the whole second: each bin is in one list, under the second its
        # time falls in. A reading only moves a bin's time later, so a bin may be filed early (it is looked at,
        # then filed again) but never late: a tick touches the bins that are due, not the whole plant, and
        # holds no time or tuple per bin.
        self._due: dict[int, list[str]] = {}
        self._seconds: list[int] = []  # the keys of `_due`, as a heap
        for bin_id, b in self._bins.items():
            self._file(bin_id, b.next_tick_at(started_at))

    @property
    def specs(self) -> Specs:
        """Every bin's spec by bin id, in plant order."""
        return Specs(self._bins)

    def __iter__(self) -> Iterator[ScaleBin]:
        return iter(self._bins.values())

    def __len__(self) -> int:
        return len(self._numbered)

    @property
    def by_number(self) -> Sequence[ScaleBin]:
        """Every bin at its number (its place in the plant, `ScaleBin.number`)."""
        return self._numbered

    def get(self, bin_id: str) -> ScaleBin | None:
        """The bin with this id, or None."""
        return self._bins.get(bin_id)

    def state_copy(self, bin_id: str) -> BinState:
        """A copy of a bin's state, safe to hand to another thread."""
        return replace(self._bins[bin_id].state)

    def bin(self, bin_id: str) -> ScaleBin:
        """The bin with this id; `UnknownBinError` when the plant has none."""
        try:
            return self._bins[bin_id]
        except KeyError as exc:
            raise UnknownBinError(bin_id) from exc

    def open_cards(self, bin_id: str) -> int:
        """How many of a loop's cards are out for replenishment."""
        return self.bin(bin_id).open_cards

    def act(
        self, bin_id: str, signal_id: str, action: Action, now: float, *, by: str, quantity: int | None = None,
        asn: str | None = None,
    ) -> SignalChanged | Refusal | None:
        """Move an open signal of a loop on; None when it is not open."""
        return self.bin(bin_id).act(signal_id, action, now, by=by, quantity=quantity, asn=asn)

    def post_card(
        self, bin_id: str, number: int | None, now: float, *, by: str, tag: str | None = None
    ) -> SignalReleased | None:
        """A card seen at a kanban post: release it unless it is already out."""
        return self.bin(bin_id).post_card(number, now, by=by, tag=tag)

    def receive_card(
        self, bin_id: str, number: int | None, now: float, *, by: str, tag: str | None = None
    ) -> SignalChanged | None:
        """A card (or the one released for `tag`, or the loop's oldest open card) arrived full: receive it."""
        return self.bin(bin_id).receive_card(number, now, by=by, tag=tag)

    def release_early(
        self, bin_id: str, now: float, *, hours_to_empty: float, horizon_h: float
    ) -> SignalReleased | None:
        """Predictive release of a loop's next card when it will be empty within `horizon_h`."""
        return self.bin(bin_id).release_early(now, hours_to_empty=hours_to_empty, horizon_h=horizon_h)

    def tick(self, now: float) -> list[Event]:
        """Advance time: returns the sensor-stale alarms that are now due."""
        events: list[Event] = []
        looked_at: list[tuple[str, float]] = []
        while self._seconds and self._seconds[0] <= now:
            for bin_id in self._due.pop(heapq.heappop(self._seconds)):
                scale_bin = self._bins[bin_id]
                event = scale_bin.tick(now)
                if event is not None:
                    events.append(event)
                looked_at.append((bin_id, scale_bin.next_tick_at(now)))
        for bin_id, at in looked_at:  # filed after the loop: one not due yet may go back under this second
            self._file(bin_id, at)
        return events

    def _file(self, bin_id: str, at: float) -> None:
        second = math.floor(at)
        bins = self._due.get(second)
        if bins is None:
            self._due[second] = [bin_id]
            heapq.heappush(self._seconds, second)
        else:
            bins.append(bin_id)
