"""In-process micro-benchmark of the readings hot path, without sockets or a broker.

    .venv/bin/python -m bench.hot_path [--loops N] [--messages M] [--repeat R]

Builds the service from a generated plant file (as `bench.run` writes it) and feeds M pre-built readings,
round-robin over the bins, through `Ingest.handle` (decode → route → rules → acknowledgement), reporting
the best of R runs in µs per reading. Load on the machine only slows it down, so compare the best figure;
under `valgrind --tool=callgrind` the instruction count per reading is load-independent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.run import PREFIX, write_plant
from gateway.config import load_config
from gateway.service import Service


def readings(loops: int, count: int) -> list[tuple[str, bytes]]:
    """The readings `bench.publisher` sends: `{"weight_g": 1400..1499}` over every bin topic."""
    payloads = [json.dumps({"weight_g": 1400 + i % 100}).encode() for i in range(100)]
    return [(f"{PREFIX}/scale/B{i % loops}", payloads[i % 100]) for i in range(count)]


async def measure(config_path: Path, messages: list[tuple[str, bytes]], repeat: int) -> list[float]:
    """µs per reading of each run."""
    service = Service(load_config(config_path))
    acks = 0

    def ack() -> None:
        nonlocal acks
        acks += 1

    handle = service.ingest.handle
    runs = []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for topic, payload in messages:
                handle(topic, payload, ack)
            runs.append((time.perf_counter() - start) / len(messages) * 1e6)
    finally:
        service.store.close()
    if acks != repeat * len(messages) or service.ingest.processed != acks:
        raise RuntimeError(f"{acks} acknowledgements for {repeat * len(messages)} readings")
    if service.rejections.counts:
        raise RuntimeError(f"readings were rejected: {dict(service.rejections.counts)}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kanban-hot-path-") as tmp:
        plant = write_plant(Path(tmp), args.loops, mqtt_port=1883, api_port=8080)
        runs = asyncio.run(measure(plant, readings(args.loops, args.messages), args.repeat))
    best = min(runs)
    print(
        f"ingest: {best:.2f} µs/reading (best of {args.repeat}; runs "
        + ", ".join(f"{r:.2f}" for r in runs)
        + f") = {1e6 / best:,.0f} readings/s on one core"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
