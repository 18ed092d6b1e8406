"""Writes the outbox's InfluxDB lines, oldest first, in batches (size or time), gzipped.

Unreachable, 5xx, 408/429 and the answers of a misconfiguration (401, 403, 404: wrong token, no such
database) keep the lines in the outbox; they are sent again, in order, with their original timestamps,
after a jittered exponential backoff. Any other 4xx means a point is bad: the batch is split in halves
until the bad points are alone, and those are logged and dropped. Points sent twice (after a lost answer,
or in the half of a split that had been written) overwrite themselves: InfluxDB keys a point by series
and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from config.connectors import InfluxConfig
from connectors.outbox import Outbox, OutboxError
from connectors.webhooks import OutboxCall, backoff_s

log = logging.getLogger(__name__)

CONSUMER = "influx"
_KEEP = frozenset((401, 403, 404, 408, 429))
_ITEMS_PER_READ = 200


@dataclass(slots=True)
class InfluxStats:
    """Lines since start: queued in the outbox, written, refused by InfluxDB, dropped before the outbox."""

    queued: int = 0
    written: int = 0
    rejected: int = 0
    dropped: int = 0


def write_request(config: InfluxConfig) -> tuple[str, dict[str, str], dict[str, str]]:
    """URL, query parameters and headers of a write for the configured flavour."""
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if config.gzip:
        headers["Content-Encoding"] = "gzip"
    if config.token is not None:
        headers["Authorization"] = f"Token {config.token.get_secret_value()}"
    if config.api == "v2":
        params = {"org": config.org or "", "bucket": config.bucket or "", "precision": "ms"}
        return f"{config.url}/api/v2/write", params, headers
    params = {"db": config.database or "", "precision": "ms"}
    if config.retention_policy:
        params["rp"] = config.retention_policy
    return f"{config.url}/write", params, headers


class _Retry(Exception):
    """InfluxDB cannot take the lines now; keep them."""


class InfluxWriter:
    """The outbox's `influx` consumer."""

    def __init__(self, *, config: InfluxConfig, outbox: Outbox, call: OutboxCall, clock: Callable[[], float]) -> None:
        self._config = config
        self._outbox = outbox
        self._call = call
        self._clock = clock
        self._url, self._params, self._headers = write_request(config)
        self._auth = (
            httpx.BasicAuth(config.username, config.password.get_secret_value())
            if config.username and config.password else None
        )
        self._wake = asyncio.Event()
        self._waiting_lines = 0
        self._rng = random.Random()
        self.stats = InfluxStats()
        self.reachable: bool | None = None

    def queued(self, lines: int) -> None:
        """`lines` more lines are in the outbox; a full batch is sent without waiting for the flush interval."""
        self.stats.queued += lines
        self._waiting_lines += lines
        if self._waiting_lines >= self._config.batch_lines:
            self._wake.set()

    async def run(self) -> None:
        """Flush every `flush_interval_s` (or when a batch is full) until cancelled."""
        failures = 0
        async with httpx.AsyncClient(timeout=self._config.timeout_s, auth=self._auth) as client:
            while True:
                self._wake.clear()
                try:
                    await self._flush(client)
                except (_Retry, OutboxError) as exc:
                    failures += 1
                    if self.reachable is not False:
                        log.warning("InfluxDB write failed, keeping the points in the outbox: %s", exc)
                    self.reachable = False
                    await asyncio.sleep(
                        backoff_s(failures, initial_s=self._config.flush_interval_s, max_s=self._config.retry_max_s,
                                  rng=self._rng)
                    )
                    continue
                if self.reachable is False:
                    log.warning("InfluxDB writes recovered")
                failures, self.reachable = 0, True
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.flush_interval_s):
                        await self._wake.wait()

    async def _flush(self, client: httpx.AsyncClient) -> None:
        """Send everything pending, oldest first, in batches of at most `batch_lines`."""
        while items := await self._call(self._outbox.oldest, CONSUMER, _ITEMS_PER_READ):
            self._waiting_lines = 0
            batch: list[str] = []
            done: list[int] = []
            for item in items:
                batch.extend(item.payload.split("\n"))
                done.append(item.id)
                while len(batch) >= self._config.batch_lines:
                    await self._send(client, batch[: self._config.batch_lines])
                    del batch[: self._config.batch_lines]
                if not batch:
                    await self._call(self._outbox.delivered, done, self._clock(), keep=False)
                    done = []
            if batch:
                await self._send(client, batch)
            if done:
                await self._call(self._outbox.delivered, done, self._clock(), keep=False)

    async def _send(self, client: httpx.AsyncClient, lines: list[str]) -> None:
        """Write lines; raises `_Retry` when InfluxDB cannot take them now; bad points are dropped."""
        status, error = await self._post(client, lines)
        if status is not None and 200 <= status < 300:
            self.stats.written += len(lines)
            return
        if status is None or status >= 500 or status in _KEEP:
            raise _Retry(error)
        if len(lines) == 1:
            self.stats.rejected += 1
            log.warning("InfluxDB refused a point, dropped: %s: %s", error, lines[0][:300])
            return
        half = len(lines) // 2
        await self._send(client, lines[:half])
        await self._send(client, lines[half:])

    async def _post(self, client: httpx.AsyncClient, lines: list[str]) -> tuple[int | None, str]:
        data = "\n".join(lines).encode()
        if self._config.gzip:
            data = gzip.compress(data, compresslevel=5)
        try:
            answer = await client.post(self._url, params=self._params, headers=self._headers, content=data)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return answer.status_code, f"HTTP {answer.status_code}: {answer.text[:300]}"
