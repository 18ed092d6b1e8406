"""Latency from publishing a reading to its kanban signal arriving on the signal topic and on the API's
live event stream.

    python -m bench.latency_probe PORT PREFIX PROBES RATE_PER_S [--api http://HOST:PORT]

Subscribes to `PREFIX/signal/+` (and, with --api, opens `GET /api/v1/events?type=signal_released`), prints
`ready`, then sends readings below the reorder point to each of the bins B0..B{PROBES-1} (QoS 1,
RATE_PER_S bins a second), carrying their send time as `ts`: as many in one write as the bins debounce
over (two by default). Every bin releases one signal; its latency is the time the `signal_released` for
that bin arrives minus that send time, taken separately on MQTT and on the stream. Prints one JSON line
{"samples", "missing", "p50_ms", "p99_ms", "max_ms"} for MQTT, with the same figures under "sse" with --api.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.mqtt_raw import RawClient, publish_packet

LOW_WEIGHT_G = 700  # 20 pieces of 10 g on a 500 g tray: below the bench plant's reorder point of 30
DEBOUNCE_READINGS = 2  # the default `debounce_readings`: a signal needs two readings below the reorder point
WAIT_AFTER_S = 5.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return sorted_values[min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))]


def summary(latencies_s: list[float], probes: int) -> dict[str, Any]:
    """Count, missing and percentiles in milliseconds."""
    ms = sorted(round(v * 1000, 2) for v in latencies_s)
    return {
        "samples": len(ms),
        "missing": probes - len(ms),
        "p50_ms": percentile(ms, 0.5) if ms else None,
        "p99_ms": percentile(ms, 0.99) if ms else None,
        "max_ms": ms[-1] if ms else None,
    }


async def follow_stream(api: str, on_body: Callable[[dict[str, Any]], None], connected: asyncio.Event) -> None:
    """Read `signal_released` events from the API's live event stream until cancelled."""
    async with (
        httpx.AsyncClient(base_url=api, timeout=httpx.Timeout(5, read=None)) as http,
        http.stream("GET", "/api/v1/events", params={"type": "signal_released"},
                    headers={"Accept": "text/event-stream"}) as answer,
    ):
        answer.raise_for_status()
        connected.set()  # the service registers the client before its first byte goes out
        async for line in answer.aiter_lines():
            if line.startswith("data: "):
                on_body(json.loads(line[6:]))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    sent: dict[str, float] = {}
    latencies: dict[str, dict[str, float]] = {"mqtt": {}} | ({"sse": {}} if args.api else {})
    done = asyncio.Event()

    def arrived(channel: str, body: dict[str, Any]) -> None:
        now = time.time()
        bin_id = body.get("bin_id")
        start = sent.get(bin_id) if body.get("type") == "signal_released" and isinstance(bin_id, str) else None
        if start is not None and bin_id not in latencies[channel]:
            latencies[channel][bin_id] = now - start
            if all(len(seen) == args.probes for seen in latencies.values()):
                done.set()

    client = await RawClient.connect(
        args.port, f"bench-probe-{time.monotonic_ns()}", lambda _topic, payload: arrived("mqtt", json.loads(payload))
    )
    await client.subscribe(f"{args.prefix}/signal/+", 1)
    stream: asyncio.Task[None] | None = None
    if args.api:
        connected = asyncio.Event()
        stream = asyncio.create_task(follow_stream(args.api, lambda body: arrived("sse", body), connected))
        await asyncio.wait([stream, asyncio.create_task(connected.wait())], return_when=asyncio.FIRST_COMPLETED)
        if stream.done():
            stream.result()  # it failed: raise why
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
    if stream is not None:
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream
    result = summary(list(latencies["mqtt"].values()), args.probes)
    if "sse" in latencies:
        result["sse"] = summary(list(latencies["sse"].values()), args.probes)
    return result


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_probe")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    parser.add_argument("probes", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("--api", help="also time the signals on this service's live event stream")
    return parser.parse_args()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(_args()))), flush=True)
