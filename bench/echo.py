"""Echo: the raw ceiling of the latency path on this machine, a stand-in for the service that does no work.

    python -m bench.echo PORT PREFIX

Subscribes to `PREFIX/scale/+` at QoS 1 and reads with the service's own packet reader, decodes each
payload as JSON, and answers the first reading at the latency probe's low weight of each bin with a
`signal_released` for that bin on `PREFIX/signal/<bin>` (QoS 1), at once: the service's path from a reading
to its signal without rules, database or commit. Prints `ready` once subscribed and runs until stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from bench.latency_probe import LOW_WEIGHT_G
from bench.mqtt_raw import RawClient, publish_packet


async def main(args: argparse.Namespace) -> None:
    answered: set[str] = set()
    prefix = f"{args.prefix}/scale/"
    client: RawClient | None = None

    def on_message(topic: str, payload: bytes) -> None:
        reading = json.loads(payload)
        bin_id = topic.removeprefix(prefix)
        if reading.get("weight_g") != LOW_WEIGHT_G or bin_id in answered or client is None:
            return
        answered.add(bin_id)
        body = json.dumps({"type": "signal_released", "bin_id": bin_id}).encode()
        client.write(publish_packet(f"{args.prefix}/signal/{bin_id}", body, qos=1, mid=len(answered) % 65535 + 1))

    client = await RawClient.connect(args.port, f"bench-echo-{time.monotonic_ns()}", on_message)
    await client.subscribe(f"{prefix}+", 1)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    client.close()


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.echo")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_args()))
