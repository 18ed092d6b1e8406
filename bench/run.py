"""Benchmark: raw MQTT ceiling vs. the service's ingest throughput, peak RSS and start-up time.

    .venv/bin/python -m bench.run [--loops N] [--messages M] [--smoke] [--json PATH]

Starts its own mosquitto on a free port in a temp dir, writes a plant file with N scale loops, then
1. raw ceiling: a count-only gmqtt subscriber (bench/subscriber.py, QoS 1 on `<prefix>/scale/+`) receives
   M readings from the publisher;
2. service: `python -m gateway run --config plant.yaml` as its own process; after /healthz answers 200 the
   same M readings are published and /api/v1/counters is polled until processed_since_start reaches M
   (or stops growing for 5 s: the difference is reported as loss);
3. peak RSS (VmHWM) of the service process and its start-up time (process start → /healthz 200).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SITE = "bench"
PREFIX = f"kanban/{SITE}"
STALL_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        sys.exit(f"{name} is not installed: run `make system-deps` or apt-get install mosquitto mosquitto-clients")
    return found


def wait_until(condition: Any, timeout_s: float, what: str, interval_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def start_mosquitto(port: int, directory: Path) -> subprocess.Popen[bytes]:
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        "max_queued_messages 10000000\nmax_inflight_messages 1000\n"
    )
    proc = subprocess.Popen([binary("mosquitto"), "-c", str(conf)], stderr=subprocess.DEVNULL)

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    wait_until(up, 10, "mosquitto to listen")
    return proc


def write_plant(directory: Path, loops: int, mqtt_port: int, api_port: int) -> Path:
    lines = [
        f"site: {SITE}",
        f'mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}',
        f'storage: {{path: "{directory / "state.db"}"}}',
        f"api: {{host: 127.0.0.1, port: {api_port}}}",
        "items:",
        "  - {sku: SKU, unit_weight_g: 10}",
        "bins:",
    ]
    lines += [
        f"  - {{id: B{i}, sku: SKU, line: L1, station: S{i}, container_qty: 100, reorder_point: 30,"
        " scale: {tare_g: 500}, stale_after_s: 3600}"
        for i in range(loops)
    ]
    path = directory / "plant.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def publish(kind: str, port: int, bins: int, count: int) -> tuple[subprocess.Popen[bytes], ...]:
    """Start publishing `count` readings spread over the first `bins` bins; returns the processes."""
    if kind == "gmqtt":
        return (subprocess.Popen(
            [sys.executable, "-m", "bench.publisher", str(port), PREFIX, str(bins), str(count)],
            cwd=ROOT, stdout=subprocess.PIPE,
        ),)
    # mosquitto_pub -l publishes on one topic: one process per bin topic, up to 4 of them.
    procs = []
    n = min(4, bins)
    for k in range(n):
        share = count // n + (1 if k < count % n else 0)
        lines = b"".join(b'{"weight_g": %d}\n' % (1400 + i % 100) for i in range(share))
        proc = subprocess.Popen(
            [binary("mosquitto_pub"), "-p", str(port), "-q", "1", "-l", "-t", f"{PREFIX}/scale/B{k}"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        )
        assert proc.stdin is not None
        proc.stdin.write(lines)
        proc.stdin.close()
        procs.append(proc)
    return tuple(procs)


def finish(procs: tuple[subprocess.Popen[bytes], ...], timeout_s: float) -> None:
    for proc in procs:
        proc.wait(timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"publisher {proc.args!r} exited with {proc.returncode}")


def raw_ceiling(port: int, kind: str, bins: int, count: int) -> dict[str, Any]:
    sub = subprocess.Popen(
        [sys.executable, "-m", "bench.subscriber", str(port), f"{PREFIX}/scale/+", str(count), "120"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise RuntimeError("subscriber did not start")
    start = time.time()
    pubs = publish(kind, port, bins, count)
    out, _ = sub.communicate(timeout=180)
    finish(pubs, 60)
    result = json.loads(out.strip().splitlines()[-1])
    elapsed = result["last"] - start
    return {
        "received": result["received"],
        "elapsed_s": round(elapsed, 3),
        "msg_per_s": round(result["received"] / elapsed) if elapsed > 0 else 0,
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def service_run(
    plant: Path, api: str, *, port: int, kind: str, bins: int, count: int, log: Path
) -> dict[str, Any]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("wb") as log_file:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(plant)],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            return _drive_service(proc, t0, api, port=port, kind=kind, bins=bins, count=count, log=log)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _drive_service(
    proc: subprocess.Popen[bytes], t0: float, api: str, *, port: int, kind: str, bins: int, count: int, log: Path
) -> dict[str, Any]:
    http = httpx.Client(base_url=api, timeout=5)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 120, "the service to report healthy", interval_s=0.01)
    startup_s = time.monotonic() - t0
    rss_idle = peak_rss_mb(proc.pid)

    start = time.time()
    pubs = publish(kind, port, bins, count)
    processed, first_change, last_change, last_seen = 0, 0.0, 0.0, time.monotonic()
    while processed < count:
        time.sleep(0.05)
        now = http.get("/api/v1/counters").json()
        if now["processed_since_start"] != processed:
            processed = now["processed_since_start"]
            last_change, last_seen = time.time(), time.monotonic()
            first_change = first_change or last_change
        elif time.monotonic() - last_seen > STALL_S:
            break
    finish(pubs, 60)
    counters = http.get("/api/v1/counters").json()
    elapsed = last_change - start
    return {
        "startup_s": round(startup_s, 3),
        "processed": processed,
        "loss": count - processed,
        "rejected": counters["rejected"],
        "elapsed_s": round(elapsed, 3),
        "readings_per_s": round(processed / elapsed) if elapsed > 0 else 0,
        "rss_idle_mb": rss_idle,
        "rss_peak_mb": peak_rss_mb(proc.pid),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=10_000, help="scale loops (bins) in the plant file")
    parser.add_argument("--messages", type=int, default=200_000, help="readings to publish per run")
    parser.add_argument("--publisher", choices=["gmqtt", "mosquitto_pub"], default="gmqtt")
    parser.add_argument("--smoke", action="store_true", help="50 loops, 2,000 messages: a few seconds")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.loops, args.messages = 50, 2000

    with tempfile.TemporaryDirectory(prefix="kanban-bench-") as tmp:
        directory = Path(tmp)
        mqtt_port, api_port = free_port(), free_port()
        broker = start_mosquitto(mqtt_port, directory)
        try:
            plant = write_plant(directory, args.loops, mqtt_port, api_port)
            raw = raw_ceiling(mqtt_port, args.publisher, args.loops, args.messages)
            svc = service_run(plant, f"http://127.0.0.1:{api_port}", port=mqtt_port, kind=args.publisher,
                              bins=args.loops, count=args.messages, log=directory / "service.log")
        finally:
            broker.terminate()
            broker.wait(timeout=10)

    ratio = svc["readings_per_s"] / raw["msg_per_s"] if raw["msg_per_s"] else 0.0
    result = {
        "loops": args.loops, "messages": args.messages, "publisher": args.publisher,
        "raw": raw, "service": svc, "ratio": round(ratio, 3),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0]},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows = [
        ("loops", f"{args.loops:,}"),
        ("messages", f"{args.messages:,}"),
        ("publisher", args.publisher),
        ("raw ceiling (gmqtt count-only sub)", f"{raw['msg_per_s']:,} msg/s"),
        ("service throughput", f"{svc['readings_per_s']:,} readings/s"),
        ("service ÷ raw ceiling", f"{ratio:.2f}"),
        ("processed / loss", f"{svc['processed']:,} / {svc['loss']:,}"),
        ("rejected", json.dumps(svc["rejected"])),
        ("start-up (process → /healthz 200)", f"{svc['startup_s']:.2f} s"),
        ("RSS after start-up", f"{svc['rss_idle_mb']} MB"),
        ("peak RSS (VmHWM)", f"{svc['rss_peak_mb']} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")
    return 0 if svc["loss"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
