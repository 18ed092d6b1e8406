"""A device adapter stops when its task is cancelled, even when a library swallowed the cancellation."""

from __future__ import annotations

import asyncio

import pytest

from edge.adapter import stop_if_cancelled


async def swallowing_call() -> None:
    """What Python 3.11's `asyncio.wait_for` does when the awaited result arrives as the task is cancelled."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        return


def test_a_poll_loop_whose_cancellation_was_swallowed_stops_at_its_next_round() -> None:
    rounds = 0

    async def poll_loop() -> None:
        nonlocal rounds
        while True:
            stop_if_cancelled()
            rounds += 1
            await swallowing_call()

    async def scenario() -> None:
        task = asyncio.create_task(poll_loop())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)  # without the check: a timeout, the loop runs on

    asyncio.run(scenario())
    assert rounds == 1  # the round that swallowed the cancellation; the next one stops at its check


def test_an_uncancelled_task_goes_on() -> None:
    async def scenario() -> None:
        stop_if_cancelled()

    asyncio.run(scenario())
