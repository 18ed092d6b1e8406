"""In-process micro-benchmark of the readings hot path, without sockets or a broker.

    .venv/bin/python -m bench.hot_path [--loops N] [--messages M] [--repeat R]

Builds the service from a generated plant file (as `bench.run` writes it) and feeds M pre-built readings,
round-robin over the bins, through
- `ingest`: `Ingest.handle(topic, payload, ack)` (payload decode → route → rules → acknowledgement);
- `link`: the MQTT link's protocol, as 64 KiB reads of QoS 1 PUBLISH packets (packet decode → ingest →
  PUBACKs written to a transport that only counts them), one event-loop iteration per read;
and reports the best of R runs in µs per reading. Load on the machine only slows it down, so compare the
best figure; under `valgrind --tool=callgrind` the instruction count per reading is load-independent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from gmqtt.mqtt.constants import MQTTv311
from gmqtt.mqtt.utils import ConnectionState, IdGenerator

from bench.run import PREFIX, write_plant
from config.load import load_config
from gateway.mqtt.link import Handler, _Protocol
from gateway.plant import Plant
from gateway.service import Service

READ_BYTES = 65536


def readings(loops: int, count: int) -> list[tuple[str, bytes]]:
    """The readings `bench.publisher` sends: `{"weight_g": 1400..1499}` over every bin topic."""
    payloads = [json.dumps({"weight_g": 1400 + i % 100}).encode() for i in range(100)]
    return [(f"{PREFIX}/scale/B{i % loops}", payloads[i % 100]) for i in range(count)]


def publish_packets(messages: list[tuple[str, bytes]]) -> list[bytes]:
    """The messages as QoS 1 PUBLISH packets (MQTT 3.1.1), cut into reads of READ_BYTES."""
    stream = bytearray()
    for i, (topic, payload) in enumerate(messages):
        name = topic.encode()
        body = len(name).to_bytes(2, "big") + name + (i % 65535 + 1).to_bytes(2, "big") + payload
        assert len(body) < 128
        stream += bytes((0x32, len(body))) + body
    return [bytes(stream[i : i + READ_BYTES]) for i in range(0, len(stream), READ_BYTES)]


class CountingTransport:
    """Stands in for the socket under the link's protocol: counts what is written to it."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


async def run_ingest(handle: Handler, messages: list[tuple[str, bytes]]) -> int:
    """Feed the messages to the handler; returns the PUBACKs it sent."""
    acks = 0

    def ack() -> None:
        nonlocal acks
        acks += 1

    for topic, payload in messages:
        handle(topic, payload, ack)
    return acks


async def run_link(handle: Handler, reads: list[bytes]) -> int:
    """Feed the reads to the link's protocol; returns the PUBACKs it wrote."""
    state = ConnectionState()
    state.protocol_version = MQTTv311
    protocol = _Protocol(handler=handle, connection_state=state, id_generator=IdGenerator())
    transport = CountingTransport()
    protocol.set_connection(SimpleNamespace(put_package=lambda package: None, _last_data_in=0.0))
    protocol.connection_made(transport)
    for data in reads:
        protocol.data_received(data)
        await asyncio.sleep(0)  # the end of the event-loop iteration: PUBACKs are written
    protocol._read_loop_future.cancel()
    return transport.written // 4


async def measure(
    config_path: Path, messages: list[tuple[str, bytes]], stage: Callable[..., Any], repeat: int
) -> list[float]:
    """µs per reading of each run."""
    service = Service(Plant.of(load_config(config_path)))
    data = publish_packets(messages) if stage is run_link else messages
    runs = []
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            acks = await stage(service.ingest.handle, data)
            runs.append((time.perf_counter() - start) / len(messages) * 1e6)
            if acks != len(messages):
                raise RuntimeError(f"{acks} acknowledgements for {len(messages)} readings")
    finally:
        service.store.close()
    if service.rejections.counts:
        raise RuntimeError(f"readings were rejected: {dict(service.rejections.counts)}")
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_path", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stage", choices=["ingest", "link", "both"], default="both")
    args = parser.parse_args(argv)
    stages = {"ingest": run_ingest, "link": run_link}
    chosen = list(stages) if args.stage == "both" else [args.stage]
    with tempfile.TemporaryDirectory(prefix="kanban-hot-path-") as tmp:
        plant = write_plant(Path(tmp), args.loops, mqtt_port=1883, api_port=8080)
        messages = readings(args.loops, args.messages)
        for name in chosen:
            runs = asyncio.run(measure(plant, messages, stages[name], args.repeat))
            best = min(runs)
            print(
                f"{name}: {best:.2f} µs/reading (best of {args.repeat}; runs "
                + ", ".join(f"{r:.2f}" for r in runs)
                + f") = {1e6 / best:,.0f} readings/s on one core"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
