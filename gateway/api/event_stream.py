"""The live event stream: committed events fanned out to HTTP clients as Server-Sent Events.

`publish` runs on the event loop right after a commit and only appends the encoded frame to each client's
bounded queue: no I/O, no task. A client that asks to resume (`Last-Event-ID`) registers first, so the
events committed while its backlog is read from the event log wait in its queue; they are sent after the
backlog, those the backlog already had (seq not above the last sent) dropped. A client with `max_queued`
events still waiting when more are committed is sent `event: overflow` and disconnected; it resumes from
the log.
"""

from __future__ import annotations

import asyncio
import json
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.webhook_payload import LoopInfo
from rules.events import Event, FloorEvent

KEEPALIVE_S = 15.0  # below the idle timeout of common proxies
READ_CHUNK = 500  # event-log rows per read while resuming

ReadLog = Callable[[int, int], list[tuple[int, str]]]  # (after seq, limit) → [(seq, body)], oldest first


def _kinds_of(union: Any) -> frozenset[str]:
    return frozenset(
        kind for cls in typing.get_args(union) for kind in typing.get_args(typing.get_type_hints(cls)["kind"])
    )


EVENT_TYPES = _kinds_of(Event) | _kinds_of(FloorEvent)
KEEPALIVE = b": keepalive\n\n"
HEARTBEAT = b"event: heartbeat\ndata: {}\n\n"
"""The keep-alive as an event, for a browser page: EventSource hides comments, so only an event tells it that a
quiet stream is still alive."""


def frame(body: dict[str, Any]) -> bytes:
    """One committed event as an SSE message: id, event type, the body as one line of JSON."""
    return f"id: {body['seq']}\nevent: {body['type']}\ndata: {json.dumps(body)}\n\n".encode()


def overflow_frame(last_seq: int | None) -> bytes:
    """The last message to a client that fell too far behind."""
    resume = "" if last_seq is None else f": {last_seq}"
    data = {
        "message": f"more than the allowed number of events were waiting for this client; reconnect with "
                   f"Last-Event-ID{resume} to get them from the event log",
        "last_event_id": last_seq,
    }
    return _notice("overflow", data)


def gap_frame(after: int, next_seq: int) -> bytes:
    """Tells a resuming client that events between two ids are no longer in the event log: they were older
    than `storage.event_log_days` (seqs are contiguous, so a hole in the log is a pruned stretch)."""
    data = {
        "message": f"events {after + 1} to {next_seq - 1} are no longer in the event log "
                   f"(older than storage.event_log_days); the stream goes on from {next_seq}",
        "first_missing": after + 1,
        "last_missing": next_seq - 1,
    }
    return _notice("gap", data)


def reset_frame(after: int, newest: int) -> bytes:
    """Tells a resuming client that its id is beyond the end of the event log (a new state database): ids
    start again, and what it missed can only be read from the API's current state."""
    data = {
        "message": f"the event log ends at {newest}, before the id {after} this client resumes from: the state "
                   f"database was replaced; the stream goes on with the events after {newest}",
        "last_event_id": newest,
    }
    return _notice("reset", data)


def _notice(kind: str, data: dict[str, Any]) -> bytes:
    """A message about the stream itself rather than a committed event: no id, so a client's Last-Event-ID
    stays that of the last event it got."""
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


@dataclass(frozen=True, slots=True)
class Wanted:
    """Which events a client asked for; None: any."""

    types: frozenset[str] | None = None
    lines: frozenset[str] | None = None

    def __call__(self, kind: str, line: str | None) -> bool:
        return (self.types is None or kind in self.types) and (self.lines is None or line in self.lines)


class _Client:
    """One connected client: its filter and the frames committed since it last took them."""

    __slots__ = ("closed", "overflowed", "queue", "replaying", "wake", "wanted")

    def __init__(self, wanted: Wanted) -> None:
        self.wanted = wanted
        self.queue: list[tuple[int, bytes]] = []
        self.overflowed = False
        self.replaying = False  # an overflow now is made good from the log, not a disconnect
        self.closed = False
        self.wake = asyncio.Event()

    def take(self) -> list[tuple[int, bytes]]:
        queued, self.queue = self.queue, []
        return queued


class EventStream:
    """Fan-out of committed events to live clients, with resume from the event log."""

    def __init__(
        self, *, read_log: ReadLog, newest: Callable[[], int], loops: Mapping[str, LoopInfo], max_queued: int,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self._read_log = read_log
        self._newest = newest  # the seq of the newest logged event, 0 for none
        self._loops = loops
        self._max_queued = max_queued
        self._keepalive_s = keepalive_s
        self._clients: set[_Client] = set()
        self._closed = False
        self.overflows = 0  # clients dropped for falling behind, since start

    @property
    def clients(self) -> int:
        """Clients connected now."""
        return len(self._clients)

    def publish(self, bodies: Iterable[dict[str, Any]]) -> None:
        """Committed event bodies (with `seq`), in commit order. Never blocks."""
        if not self._clients:
            return
        frames = [(body["seq"], body["type"], self._line(body), frame(body)) for body in bodies]
        for client in list(self._clients):
            if len(client.queue) >= self._max_queued:
                # Memory stays bounded (one batch beyond the limit at most): the client is dropped and gets
                # what it missed from the log when it reconnects.
                self._clients.discard(client)
                client.queue, client.overflowed = [], True
                self.overflows += not client.replaying
            else:
                client.queue.extend((seq, data) for seq, kind, line, data in frames if client.wanted(kind, line))
            client.wake.set()

    def close(self) -> None:
        """End every stream (the service is stopping); later clients end at once."""
        self._closed = True
        for client in self._clients:
            client.closed = True
            client.wake.set()
        self._clients.clear()

    def _line(self, body: dict[str, Any]) -> str | None:
        """The line an event belongs to: its own `line`, else its loop's; None for PLC-wide events."""
        line = body.get("line")
        if line is None and (loop := self._loops.get(body.get("bin_id", ""))) is not None:
            line = loop.line
        return line

    async def stream(self, *, after: int | None, wanted: Wanted, heartbeat: bool = False) -> AsyncIterator[bytes]:
        """The SSE body for one client: events after `after` from the log (None: from now on), then live; when
        quiet, a keep-alive comment (or, with `heartbeat`, an `event: heartbeat`) every `keepalive_s`."""
        if self._closed:
            return
        client = _Client(wanted)
        self._clients.add(client)  # before the backlog is read, so nothing committed meanwhile is missed
        try:
            last = after
            if after is not None and after > (newest := await asyncio.to_thread(self._newest)):
                # An id this log never reached: the state database was replaced. Say so, and go on from now.
                yield reset_frame(after, newest)
                last = after = newest
            if after is not None:
                client.replaying = True
                async for data, read_up_to in self._backlog(client, after):
                    last = read_up_to
                    if data:
                        yield data
                client.replaying = False
            while not client.closed:
                try:
                    async with asyncio.timeout(self._keepalive_s):
                        await client.wake.wait()
                except TimeoutError:
                    yield HEARTBEAT if heartbeat else KEEPALIVE
                    continue
                client.wake.clear()
                if client.overflowed:
                    yield overflow_frame(last)
                    return
                fresh = [(seq, data) for seq, data in client.take() if last is None or seq > last]
                if fresh:
                    last = fresh[-1][0]
                    yield b"".join(data for _, data in fresh)
        finally:
            self._clients.discard(client)

    async def _backlog(self, client: _Client, after: int) -> AsyncIterator[tuple[bytes, int]]:
        """Frames of the logged events after `after`, read in chunks off the event loop, each chunk with the
        seq of its last row."""
        last = after
        while not client.closed:
            rows = await asyncio.to_thread(self._read_log, last, READ_CHUNK)
            if not rows:
                if not client.overflowed:
                    return
                # The live queue overflowed while the log was read: what it dropped is in the log.
                client.overflowed = False
                self._clients.add(client)
                continue
            wanted = []
            for seq, raw in rows:
                if seq > last + 1:
                    wanted.append(gap_frame(last, seq))
                body = json.loads(raw)
                body["seq"] = last = seq
                if client.wanted(body["type"], self._line(body)):
                    wanted.append(frame(body))
            yield b"".join(wanted), last
