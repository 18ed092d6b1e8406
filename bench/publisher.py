"""Fast publisher of scale readings, round-robin over bin topics, as its own process.

    python -m bench.publisher PORT PREFIX FIRST_BIN BINS COUNT [--qos 0|1] [--rate PER_S]

Publishes COUNT readings `{"weight_g": w}` (w in 1400–1499 g: above the reorder point, so no signal fires)
on `PREFIX/scale/B<FIRST_BIN + i % BINS>` from pre-built packets (bench/mqtt_raw.py): at full speed with at
most WINDOW QoS 1 publishes unacknowledged, or at a fixed rate in 10 ms steps. Waits for every PUBACK
(QoS 1) and prints one JSON line {"published", "start", "end"} (epoch seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.mqtt_raw import publish_packet, send_chunks

CHUNK = 500  # packets per write at full speed
STEP_S = 0.01  # at a fixed rate: one write of rate × STEP_S packets per step


def packets(prefix: str, first_bin: int, bins: int, count: int, *, qos: int, chunk: int) -> list[bytes]:
    """The readings as PUBLISH packets, `chunk` to a list item."""
    payloads = [json.dumps({"weight_g": 1400 + i % 100}).encode() for i in range(100)]
    topics = [f"{prefix}/scale/B{first_bin + i}" for i in range(bins)]
    built = [publish_packet(topics[i % bins], payloads[i % 100], qos=qos, mid=i % 65535 + 1) for i in range(count)]
    return [b"".join(built[i : i + chunk]) for i in range(0, count, chunk)]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    size = max(1, round(args.rate * STEP_S)) if args.rate else CHUNK
    chunks = packets(args.prefix, args.first_bin, args.bins, args.count, qos=args.qos, chunk=size)
    return await send_chunks(args.port, f"bench-pub-{time.monotonic_ns()}", chunks, per_chunk=size,
                             count=args.count, qos=args.qos, rate=args.rate)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.publisher")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    parser.add_argument("first_bin", type=int)
    parser.add_argument("bins", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("--qos", type=int, choices=[0, 1], default=1)
    parser.add_argument("--rate", type=float, default=0.0, help="readings per second (0: as fast as possible)")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args()))), flush=True)
