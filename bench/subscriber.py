"""Count-only QoS 1 subscriber: the raw ceiling of one gmqtt client on this machine.

Run as its own process: `python -m bench.subscriber PORT TOPIC COUNT TIMEOUT_S`. Prints `ready` once the
subscription is acknowledged, then one JSON line {"received", "first", "last"} (epoch seconds) on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311


async def main(port: int, topic: str, count: int, timeout_s: float) -> dict[str, Any]:
    received = 0
    first = last = 0.0
    done = asyncio.Event()
    subscribed = asyncio.Event()

    def on_message(client: Any, topic: str, payload: bytes, qos: int, properties: Any) -> int:
        nonlocal received, first, last
        last = time.time()
        if received == 0:
            first = last
        received += 1
        if received >= count:
            done.set()
        return 0

    client = gmqtt.Client(f"bench-sub-{time.monotonic_ns()}")
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    await client.connect("127.0.0.1", port, version=MQTTv311)
    client.subscribe(gmqtt.Subscription(topic, qos=1))
    await asyncio.wait_for(subscribed.wait(), timeout=10)
    print("ready", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=timeout_s)
    await client.disconnect()
    return {"received": received, "first": first, "last": last}


if __name__ == "__main__":
    result = asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    print(json.dumps(result), flush=True)
