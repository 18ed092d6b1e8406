"""A supplier's delivery task stops when the service stops, even when new items wake it at that very moment
(otherwise the service's task group, and so its shutdown, would wait for the task's next backoff)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.connectors import WebhookConfig
from connectors.outbox import Outbox
from connectors.webhooks import SupplierWebhook


def test_a_wake_up_at_the_moment_of_cancellation_does_not_keep_the_task_running(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db", max_items=100, keep_delivered=5)
    config = WebhookConfig.model_validate({"url": "http://127.0.0.1:9/", "secret": "0123456789abcdef",
                                           "retry_max_s": 3600})

    async def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)  # the outbox in this thread: the test is about the event loop only

    async def scenario() -> None:
        webhook = SupplierWebhook(supplier="acme", config=config, outbox=outbox, call=call, clock=lambda: 0.0)
        task = asyncio.create_task(webhook.run())
        for _ in range(20):  # let it find the outbox empty and go idle (for retry_max_s)
            await asyncio.sleep(0)
        webhook.wake()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            async with asyncio.timeout(5):  # fail, do not hang, if it runs on
                await task

    asyncio.run(scenario())
    outbox.close()
