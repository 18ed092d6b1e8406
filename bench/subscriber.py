"""Count-only subscriber: the raw ceiling of the broker and the publisher on this machine.

    python -m bench.subscriber PORT TOPIC COUNT TIMEOUT_S [--qos 0|1]

Reads with the service's own packet reader and acknowledges QoS 1 like the service does (one write per
event-loop iteration), but does nothing with the messages. Prints `ready` once the subscription is
acknowledged, then, once COUNT messages arrived, none arrived for STALL_S, or TIMEOUT_S passed, one JSON
line {"received", "first", "last"} (epoch seconds of the first and the last message).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from bench.mqtt_raw import RawClient

STALL_S = 3.0


async def main(args: argparse.Namespace) -> dict[str, Any]:
    received = 0
    first = last = 0.0
    done = asyncio.Event()

    def on_message(topic: str, payload: bytes) -> None:
        nonlocal received, first, last
        received += 1
        last = time.time()
        if received == 1:
            first = last
        if received >= args.count:
            done.set()

    async def stalled() -> None:
        """Returns when messages have started and then stopped coming (some were lost)."""
        seen = -1
        while received == 0 or received != seen:
            seen = received
            await asyncio.sleep(STALL_S)

    client = await RawClient.connect(args.port, f"bench-sub-{time.monotonic_ns()}", on_message)
    await client.subscribe(args.topic, args.qos)
    print("ready", flush=True)
    waits = {asyncio.ensure_future(done.wait()), asyncio.ensure_future(stalled())}
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED), timeout=args.timeout_s)
    for wait in waits:
        wait.cancel()
    client.close()
    return {"received": received, "first": first, "last": last}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.subscriber")
    parser.add_argument("port", type=int)
    parser.add_argument("topic")
    parser.add_argument("count", type=int)
    parser.add_argument("timeout_s", type=float)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args()))), flush=True)
