"""Fast QoS 1 publisher that round-robins scale readings over bin topics.

Run as its own process: `python -m bench.publisher PORT PREFIX BINS COUNT`. Publishes COUNT readings
`{"weight_g": w}` (w in 1400–1500 g: above the reorder point, so no signal fires) on
`PREFIX/scale/B<i>`, keeps at most WINDOW unacknowledged (packet ids wrap at 65,535), waits for every
PUBACK and prints one JSON line {"published", "start", "end"} (epoch seconds).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import gmqtt
from gmqtt.mqtt.constants import MQTTv311

WINDOW = 20_000


async def main(port: int, prefix: str, bins: int, count: int) -> dict[str, Any]:
    client = gmqtt.Client(f"bench-pub-{time.monotonic_ns()}")
    await client.connect("127.0.0.1", port, version=MQTTv311)
    topics = [f"{prefix}/scale/B{i}" for i in range(bins)]
    payloads = [json.dumps({"weight_g": 1400 + i % 100}).encode() for i in range(100)]
    pending = client._persistent_storage._messages  # unacknowledged QoS 1 publishes
    start = time.time()
    for i in range(count):
        client.publish(topics[i % bins], payloads[i % 100], qos=1)
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the socket drain and PUBACKs in
            while len(pending) > WINDOW:  # noqa: ASYNC110 (gmqtt has no window event)
                await asyncio.sleep(0.001)
    await asyncio.wait_for(client._persistent_storage.wait_empty(), timeout=120)
    end = time.time()
    await client.disconnect()
    return {"published": count, "start": start, "end": end}


if __name__ == "__main__":
    result = asyncio.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    print(json.dumps(result), flush=True)
