"""RFID reads that each change a card, as fast as acknowledgements after commit allow, as its own process.

    python -m bench.rfid_publisher PORT PREFIX FIRST_BIN TAGS COUNT

The bench plant's tags are card 1 of bins FIRST_BIN.. FIRST_BIN + TAGS - 1 (EPC = bin number in 24 hex
digits). Reads go round the tags, one pass at the kanban post (`PREFIX/rfid/post`: releases the card), the
next at the receiving dock (`PREFIX/rfid/dock`: receives it), and so on, so every one of the COUNT reads
causes one event, committed before the service acknowledges the read. Impinj Speedway Connect format, QoS 1,
at most WINDOW unacknowledged by the broker. Prints one JSON line {"published", "start", "end"} once the
broker has acknowledged every read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from bench.mqtt_raw import publish_packet, send_chunks

CHUNK = 100


def packets(prefix: str, first_bin: int, tags: int, count: int) -> list[bytes]:
    """The reads as PUBLISH packets, CHUNK to a list item."""
    built = []
    for i in range(count):
        at_post = (i // tags) % 2 == 0
        epc = f"{first_bin + i % tags:024X}"
        payload = json.dumps({"antennaPort": 1 if at_post else 2, "epc": epc}).encode()
        topic = f"{prefix}/rfid/{'post' if at_post else 'dock'}"
        built.append(publish_packet(topic, payload, qos=1, mid=i % 65535 + 1))
    return [b"".join(built[i : i + CHUNK]) for i in range(0, count, CHUNK)]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    chunks = packets(args.prefix, args.first_bin, args.tags, args.count)
    return await send_chunks(args.port, f"bench-rfid-{time.monotonic_ns()}", chunks, per_chunk=CHUNK,
                             count=args.count)


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.rfid_publisher")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    parser.add_argument("first_bin", type=int)
    parser.add_argument("tags", type=int)
    parser.add_argument("count", type=int)
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args()))), flush=True)
