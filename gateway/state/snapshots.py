"""The periodic state snapshot: bin levels that changed, rejection counters, which events went out on MQTT.

Signals and transitions are committed with their cause; levels between them are saved here. A snapshot
is staged and committed in slices of at most `SLICE` bins, one commit each, and the event loop runs between
slices: copying states never holds the loop for more than a slice, and a signal released meanwhile shares
its transaction with at most one slice instead of queueing behind the whole snapshot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from gateway.state.committer import Committer
from rules.engine import Engine

SLICE = 100
"""Bins (and published event seqs) per snapshot commit."""


class Snapshots:
    """Saves what changed since the last snapshot; `run` is its task, `save` also serves the final one."""

    def __init__(
        self, *, engine: Engine, committer: Committer, take_dirty: Callable[[], Sequence[int]],
        rejections: dict[str, int], take_published: Callable[[], Sequence[int]],
        recorded: Callable[[Sequence[int]], None], clock: Callable[[], float], slice_bins: int = SLICE,
    ) -> None:
        self._engine = engine
        self._committer = committer
        self._take_dirty = take_dirty  # numbers of the bins changed since the last call
        self._rejections = rejections
        self._take_published = take_published  # event seqs sent on MQTT since the last call
        self._recorded = recorded  # those seqs are now marked published in the database
        self._clock = clock
        self._slice = slice_bins
        self._saving = asyncio.Lock()  # one snapshot at a time: the final one waits for a running one

    async def run(self, interval_s: float) -> None:
        """Save a snapshot every `interval_s` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            await self.save()

    async def save(self) -> None:
        """Commit everything changed so far, slice by slice; returns once all of it is committed."""
        async with self._saving:
            by_number = self._engine.by_number
            bins = [by_number[number].spec.bin_id for number in self._take_dirty()]
            published = self._take_published()
            rejections = dict(self._rejections)
            step = self._slice
            # One commit even when nothing changed: the heartbeat shows a dead disk in /healthz.
            for start in range(0, max(len(bins), len(published), 1), step):
                states = {bin_id: self._engine.state_copy(bin_id) for bin_id in bins[start:start + step]}
                seqs = published[start:start + step]
                self._committer.stage_snapshot(states, rejections if start == 0 else {}, seqs, self._clock())
                await self._committer.commit()
                self._recorded(seqs)
