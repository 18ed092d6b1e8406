"""Latency from publishing a reading to its kanban signal arriving on the signal topic.

    python -m bench.latency_probe PORT PREFIX PROBES RATE_PER_S

Subscribes to `PREFIX/signal/+`, prints `ready`, then sends readings below the reorder point to each of
the bins B0..B{PROBES-1} (QoS 1, RATE_PER_S bins a second), carrying their send time as `ts`: as many in
one write as the bins debounce over (two by default). Every bin releases one signal; its latency is the
time the `signal_released` for that bin arrives minus that send time. Prints one JSON line
{"samples", "missing", "p50_ms", "p99_ms", "max_ms"}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from bench.mqtt_raw import RawClient, publish_packet

LOW_WEIGHT_G = 700  # 20 pieces of 10 g on a 500 g tray: below the bench plant's reorder point of 30
DEBOUNCE_READINGS = 2  # the default `debounce_readings`: a signal needs two readings below the reorder point
WAIT_AFTER_S = 5.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    def on_message(topic: str, payload: bytes) -> None:
        arrived = time.time()
        body = json.loads(payload)
        start = sent.pop(body.get("bin_id"), None) if body.get("type") == "signal_released" else None
        if start is not None:
            latencies.append(arrived - start)
            if len(latencies) == args.probes:
                done.set()

    client = await RawClient.connect(args.port, f"bench-probe-{time.monotonic_ns()}", on_message)
    await client.subscribe(f"{args.prefix}/signal/+", 1)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    for i in range(args.probes):
        due = t0 + i / args.rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        bin_id = f"B{i}"
        now = time.time()
        payload = json.dumps({"weight_g": LOW_WEIGHT_G, "ts": now}).encode()
        sent[bin_id] = now
        topic = f"{args.prefix}/scale/{bin_id}"
        client.write(b"".join(
            publish_packet(topic, payload, qos=1, mid=(i * DEBOUNCE_READINGS + k) % 65535 + 1)
            for k in range(DEBOUNCE_READINGS)
        ))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=WAIT_AFTER_S)
    client.close()
    ordered = sorted(latencies)
    ms = [round(v * 1000, 2) for v in ordered]
    return {
        "samples": len(ms),
        "missing": args.probes - len(ms),
        "p50_ms": percentile(ms, 0.5) if ms else None,
        "p99_ms": percentile(ms, 0.99) if ms else None,
        "max_ms": ms[-1] if ms else None,
    }


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_probe")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    parser.add_argument("probes", type=int)
    parser.add_argument("rate", type=float)
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args()))), flush=True)
