"""Count-only subscriber: the raw ceiling of the broker and the publisher on this machine.

    python -m bench.subscriber PORT TOPIC COUNT TIMEOUT_S [--qos 0|1]

Reads with the service's own packet reader and acknowledges QoS 1 like the service does (one write per
event-loop iteration), but does nothing with the messages. Prints `ready` once the subscription is
acknowledged, then one JSON line {"received", "first", "last"} (epoch seconds) on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from bench.mqtt_raw import RawClient


async def main(args: argparse.Namespace) -> dict[str, Any]:
    received = 0
    first = last = 0.0
    done = asyncio.Event()

    def on_message(topic: str, payload: bytes) -> None:
        nonlocal received, first, last
        received += 1
        if received == 1:
            first = time.time()
        if received >= args.count:
            last = time.time()
            done.set()

    client = await RawClient.connect(args.port, f"bench-sub-{time.monotonic_ns()}", on_message)
    await client.subscribe(args.topic, args.qos)
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=args.timeout_s)
    client.close()
    return {"received": received, "first": first, "last": last or time.time()}


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
