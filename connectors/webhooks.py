"""Supplier webhooks, the I/O part: one delivery task per supplier, fed from the outbox.

Each supplier has its own task and HTTP client, so a slow or dead supplier delays nobody else, and the
rules never wait for any of them. Delivery is at least once: an item is marked delivered only after a 2xx
answer; suppliers de-duplicate by the `Idempotency-Key` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, Protocol, TypeVar

import httpx

from config.connectors import WebhookConfig
from connectors.outbox import Item, Outbox, OutboxError
from connectors.webhook_payload import headers

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class OutboxCall(Protocol):
    """Runs an `Outbox` method on the outbox's thread."""

    def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...


def backoff_s(attempt: int, *, initial_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: around initial·2^(attempt−1), capped, times uniform(0.5, 1.5)."""
    base: float = min(max_s, initial_s * 2.0 ** min(attempt - 1, 30))
    return base * rng.uniform(0.5, 1.5)


def _permanent(status: int) -> bool:
    """A 4xx other than timeout / rate limit: the supplier refuses this body; retrying will not help."""
    return 400 <= status < 500 and status not in (408, 425, 429)


class SupplierWebhook:
    """Delivers one supplier's outbox items until cancelled."""

    def __init__(
        self, *, supplier: str, config: WebhookConfig, outbox: Outbox, call: OutboxCall,
        clock: Callable[[], float],
    ) -> None:
        self.supplier = supplier
        self.consumer = f"webhook:{supplier}"
        self._config = config
        self._outbox = outbox
        self._call = call
        self._clock = clock
        self._wake = asyncio.Event()
        self._rng = random.Random()
        self._failures = 0  # consecutive, across items: how long the whole supplier waits

    def wake(self) -> None:
        """New or retried items are waiting."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver due items, oldest first, one at a time."""
        async with httpx.AsyncClient(timeout=self._config.timeout_s) as client:
            while True:
                self._wake.clear()
                try:
                    idle = await self._step(client)
                except OutboxError as exc:
                    log.error("webhook %s: outbox: %s", self.supplier, exc)
                    idle = None
                if idle is not None:
                    await self._idle(idle)
                elif self._failures:
                    # The supplier failed: back off as a whole; new items do not cut the pause short.
                    await asyncio.sleep(self._delay(self._failures))

    async def _step(self, client: httpx.AsyncClient) -> float | None:
        """Deliver one due item; returns how long to idle when none is due (None: one was tried)."""
        now = self._clock()
        item = await self._call(self._outbox.next_due, self.consumer, now)
        if item is None:
            wake_at = await self._call(self._outbox.next_wake, self.consumer)
            return self._config.retry_max_s if wake_at is None else max(0.0, wake_at - now)
        error, permanent = await self._post(client, item)
        now = self._clock()
        if error is None:
            await self._call(self._outbox.delivered, [item.id], now, keep=True)
            self._failures = 0
            return None
        self._failures += 1
        log.info("webhook %s: delivery %d failed: %s", self.supplier, item.id, error)
        await self._call(
            self._outbox.failed, item.id, error=error, now=now, next_at=self._next_attempt(item, now, permanent)
        )
        return None

    def _next_attempt(self, item: Item, now: float, permanent: bool) -> float | None:
        attempts = item.attempts + 1
        too_old = now - item.created >= self._config.max_age_h * 3600
        if permanent or too_old or attempts >= self._config.max_attempts:
            log.warning("webhook %s: delivery %d dead-lettered after %d attempt(s)", self.supplier, item.id, attempts)
            return None
        return now + self._delay(attempts)

    def _delay(self, attempt: int) -> float:
        cfg = self._config
        return backoff_s(attempt, initial_s=cfg.retry_initial_s, max_s=cfg.retry_max_s, rng=self._rng)

    async def _post(self, client: httpx.AsyncClient, item: Item) -> tuple[str | None, bool]:
        """(None, _) when accepted, else (what went wrong, whether retrying is pointless)."""
        body = item.payload.encode()
        sent: dict[str, Any] = headers(
            secret=self._config.secret.get_secret_value(), timestamp=int(self._clock()), body=body,
            key=item.key, event_type=item.kind,
        )
        try:
            answer = await client.post(self._config.url, content=body, headers=sent)
        except httpx.TimeoutException:
            return f"no answer within {self._config.timeout_s} s", False
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", False
        if answer.is_success:
            return None, False
        return f"HTTP {answer.status_code}: {answer.text[:200]}", _permanent(answer.status_code)

    async def _idle(self, seconds: float) -> None:
        """Wait for the next item to fall due, or less when new or retried items come."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that comes as the
        # wake-up does, and this loop would then run on after its task group was told to stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
