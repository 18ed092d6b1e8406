"""Delivery targets, the I/O part: one task per target (an ERP, any HTTP API), fed from the outbox (docs/ERP.md).

A target's items go strictly in the order they were committed, one at a time: an item that fails waits at the
head until its next attempt, so a cancellation never overtakes the creation it cancels. A released signal
becomes a document (`create`), after `find` found none made before, and the document's id is stored on the
signal; a cancelled signal cancels that document (`cancel`). What the service keeps of the documents is handed
in (`Documents`), as the hub is handed the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from config.targets import (
    Rendered,
    TargetConfig,
    TargetRequest,
    TemplateProblem,
    answer_context,
    document_of,
    refusal_in,
    render_request,
)
from config.templates import RenderError, evaluate
from connectors.outbox import Item, Outbox, OutboxError
from connectors.webhooks import OutboxCall, backoff_s

log = logging.getLogger(__name__)

CONSUMER_PREFIX = "target:"
_EXCERPT = 300  # characters of an answer kept in an error


class Documents(Protocol):
    """The documents targets made for signals, as the service stores them (on the signal, visible in the API)."""

    def document(self, signal_id: str, target: str) -> tuple[str, bool] | None:
        """The document `target` made for the signal and whether it was cancelled, or None."""
        ...

    async def record(self, *, signal_id: str, target: str, document_id: str, cancelled: bool) -> None:
        """Store that `target` made (or cancelled) `document_id` for the signal; returns once committed."""
        ...


class FailedError(Exception):
    """An attempt failed; `permanent` when trying again cannot help (the far side refused the request)."""

    def __init__(self, text: str, *, permanent: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.permanent = permanent


def permanent(status: int) -> bool:
    """A 4xx that says the request itself is refused; not 401/403 (a key or session to fix or renew), nor
    408/425/429 (try later)."""
    return 400 <= status < 500 and status not in (401, 403, 408, 425, 429)


class TargetDelivery:
    """Delivers one target's outbox items until cancelled."""

    def __init__(
        self, *, config: TargetConfig, outbox: Outbox, call: OutboxCall, documents: Documents,
        clock: Callable[[], float],
    ) -> None:
        self.target = config.id
        self.consumer = CONSUMER_PREFIX + config.id
        self._config = config
        self._outbox = outbox
        self._call = call
        self._documents = documents
        self._clock = clock
        self._wake = asyncio.Event()
        self._rng = random.Random()
        self._login: dict[str, Any] | None = None  # the values kept of the current session; None: log in first

    def wake(self) -> None:
        """New or retried items are waiting."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver the items in order, one at a time."""
        async with httpx.AsyncClient(timeout=self._config.timeout_s) as client:
            while True:
                self._wake.clear()
                try:
                    idle = await self._step(client)
                except OutboxError as exc:
                    log.error("target %s: outbox: %s", self.target, exc)
                    idle = self._config.retry_initial_s
                if idle is not None:
                    await self._idle(idle)

    async def _step(self, client: httpx.AsyncClient) -> float | None:
        """Try the oldest pending item when it is due; returns how long to idle (None: go on at once)."""
        now = self._clock()
        head = await self._call(self._outbox.oldest, self.consumer, 1)
        if not head:
            return self._config.retry_max_s
        item = head[0]
        if item.next_at > now:
            return item.next_at - now
        try:
            await self._deliver(client, item)
        except FailedError as failure:
            self._login = None  # whatever went wrong, the next attempt starts a fresh session
            now = self._clock()
            log.info("target %s: delivery %d failed: %s", self.target, item.id, failure.text[:_EXCERPT])
            await self._call(self._outbox.failed, item.id, error=failure.text, now=now,
                             next_at=self._next_attempt(item, now, failure.permanent))
            return None
        await self._call(self._outbox.delivered, [item.id], self._clock(), keep=True)
        return None

    def _next_attempt(self, item: Item, now: float, permanent: bool) -> float | None:
        cfg = self._config
        attempts = item.attempts + 1
        if permanent or now - item.created >= cfg.max_age_h * 3600 or attempts >= cfg.max_attempts:
            log.warning("target %s: delivery %d dead-lettered after %d attempt(s)", self.target, item.id, attempts)
            return None
        return now + backoff_s(attempts, initial_s=cfg.retry_initial_s, max_s=cfg.retry_max_s, rng=self._rng)

    async def _deliver(self, client: httpx.AsyncClient, item: Item) -> None:
        fields: dict[str, Any] = json.loads(item.payload)
        if item.kind == "signal_released":
            await self._create(client, fields)
        elif item.kind == "signal_cancelled":
            await self._cancel(client, fields)

    async def _create(self, client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
        """Make the signal's document unless one was made before; store its id."""
        create = self._config.create
        signal_id = str(fields["signal_id"])
        if create is None or self._documents.document(signal_id, self.target) is not None:
            return
        found = await self._find(client, fields)
        if found is None:
            try:
                answer = await self._send(client, create, fields)
            except FailedError:
                # The far side may have made it all the same (an answer lost on the way back): look again.
                with contextlib.suppress(FailedError):
                    found = await self._find(client, fields)
                if found is None:
                    raise
            else:
                found = self._read(document_of, create, answer)
                if found is None and create.document_id is not None:
                    raise FailedError(f"the answer names no document: {answer['text'][:_EXCERPT]}", permanent=True)
        if found is not None:
            await self._record(signal_id, found, cancelled=False)

    async def _cancel(self, client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
        """Cancel the document made for the signal, if there is one that is not cancelled yet."""
        cancel = self._config.cancel
        signal_id = str(fields["signal_id"])
        known = self._documents.document(signal_id, self.target)
        if cancel is None or (known is not None and known[1]):
            return
        document = known[0] if known is not None else await self._find(client, fields)
        if document is None:
            log.info("target %s: no document was made for %s: nothing to cancel", self.target, signal_id)
            return
        await self._send(client, cancel, fields | {"document_id": document})
        await self._record(signal_id, document, cancelled=True)

    async def _find(self, client: httpx.AsyncClient, fields: dict[str, Any]) -> str | None:
        find = self._config.find
        if find is None:
            return None
        return self._read(document_of, find, await self._send(client, find, fields))

    def _read(
        self, read: Callable[[TargetRequest, dict[str, Any]], str | None], request: TargetRequest,
        answer: dict[str, Any],
    ) -> str | None:
        try:
            return read(request, answer)
        except RenderError as exc:
            raise FailedError(f"cannot read the answer: {exc}", permanent=True) from exc

    async def _send(self, client: httpx.AsyncClient, request: TargetRequest, fields: dict[str, Any]) -> dict[str, Any]:
        """Send one request of the target for an event; the answer's context, or `FailedError`."""
        cfg = self._config
        if cfg.login is not None and self._login is None:
            await self._open_session(client)
        context = fields | {"values": cfg.values, "login": self._login or {}, "document_id": fields.get("document_id")}
        try:
            rendered = render_request(request, headers=cfg.headers, context=context)
        except TemplateProblem as exc:
            raise FailedError(f"cannot make the request: {exc}", permanent=True) from exc
        answer = await self._exchange(client, rendered)
        if cfg.login is not None and cfg.login.expired is not None and self._evaluate(cfg.login.expired, answer):
            raise FailedError(f"the session has expired: {answer['text'][:_EXCERPT]}")
        refusal = self._read(refusal_in, request, answer)
        status = answer["status"]
        if not 200 <= status < 300:
            raise FailedError(f"HTTP {status}: {refusal or answer['text'][:_EXCERPT]}", permanent=permanent(status))
        if refusal:
            raise FailedError(refusal, permanent=True)
        return answer

    async def _open_session(self, client: httpx.AsyncClient) -> None:
        login = self._config.login
        assert login is not None
        client.cookies.clear()  # a new session replaces whatever the last one left
        try:
            rendered = render_request(login, headers=self._config.headers, context={"values": self._config.values})
        except TemplateProblem as exc:
            raise FailedError(f"cannot make the login request: {exc}") from exc
        answer = await self._exchange(client, rendered)
        refusal = self._read(refusal_in, login, answer)
        if refusal or not 200 <= answer["status"] < 300:
            raise FailedError(f"login refused: HTTP {answer['status']}: {refusal or answer['text'][:_EXCERPT]}")
        kept = {name: self._evaluate(source, answer) for name, source in login.keep.items()}
        missing = [name for name, value in kept.items() if value is None or value is False]
        if missing:
            raise FailedError(f"login: the answer gives no {', '.join(missing)}: {answer['text'][:_EXCERPT]}")
        self._login = kept

    def _evaluate(self, source: str, answer: dict[str, Any]) -> Any:
        try:
            return evaluate(source, answer)
        except RenderError as exc:
            raise FailedError(f"cannot read the answer: {exc}", permanent=True) from exc

    async def _exchange(self, client: httpx.AsyncClient, rendered: Rendered) -> dict[str, Any]:
        try:
            answer = await client.request(
                rendered.method, rendered.url, headers=rendered.headers, params=rendered.params or None,
                content=rendered.content,
            )
        except httpx.TimeoutException as exc:
            raise FailedError(f"no answer within {self._config.timeout_s} s") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FailedError(f"{type(exc).__name__}: {exc}") from exc
        return answer_context(answer.status_code, answer.text)

    async def _record(self, signal_id: str, document_id: str, *, cancelled: bool) -> None:
        try:
            await self._documents.record(
                signal_id=signal_id, target=self.target, document_id=document_id, cancelled=cancelled
            )
        except Exception as exc:  # the state database's problem, not the item's: try again later
            raise FailedError(f"could not store document {document_id}: {exc}") from exc

    async def _idle(self, seconds: float) -> None:
        """Wait until the head item falls due, or less when new or retried items come."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
