"""Benchmark: raw MQTT ceilings vs. the service's throughput, latency, CPU, memory and start-up.

    .venv/bin/python -m bench.run [--loops N] [--messages M] [--big-loops L] [--smoke] [--json PATH]

Starts its own mosquitto on a free port in a temp dir, writes a plant file with N scale loops, then
1. raw ceilings: a count-only subscriber (bench/subscriber.py) receives M readings from the publisher
   (bench/publisher.py), QoS 1 end to end and QoS 0 end to end;
2. service: `python -m gateway run --config plant.yaml` as its own process; after /healthz answers 200 the
   same M readings are published at QoS 1 and /api/v1/counters is polled until processed_since_start
   reaches M (or stops growing for 5 s: the difference is reported as loss); CPU time of the process;
3. latency: with readings at a fixed 10,000/s on the other bins, bench/latency_probe.py sends one reading
   below the reorder point to each of the first bins and times publish → `signal_released` on the signal
   topic and on the API's live event stream (p50, p99, max of each); CPU of the service at that rate. The
   same phase runs first with bench/echo.py in the service's place (it answers each probe at once): the
   raw latency of the broker, the publisher and the probe on this machine;
4. the service's start-up time (process start → /healthz 200), its RSS once start-up work is done (the first
   Andon colours of every station: `settle_s`) and its peak RSS (VmHWM) at the end;
5. with InfluxDB installed (--no-influx skips it): the throughput run again with history written to a real
   influxd (levels by exception, events, batched), waiting until every queued line is written;
6. the same start-up, memory and fixed-rate CPU with L loops (default 50,000).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.influxd import influxd_binary, spawn_influxd
from gateway.floor.andon_board import MAX_CHANGES

ROOT = Path(__file__).resolve().parent.parent
SITE = "bench"
INFLUX_DB = "kanban"
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
        "max_queued_messages 10000000\nmax_inflight_messages 1000\nset_tcp_nodelay true\n"
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


def write_plant(
    directory: Path, loops: int, mqtt_port: int, api_port: int, *, rfid_tags: int = 0, influx_url: str | None = None
) -> Path:
    """The bench plant; with `rfid_tags`, a kanban post and a receiving dock and one tag (card 1) for each
    of the last `rfid_tags` bins (EPC = bin number in 24 hex digits); with `influx_url`, history in that
    InfluxDB 1.x (database `kanban`) with the documented defaults."""
    lines = [
        f"site: {SITE}",
        f'mqtt: {{url: "mqtt://127.0.0.1:{mqtt_port}"}}',
        f'storage: {{path: "{directory / "state.db"}"}}',
        f"api: {{host: 127.0.0.1, port: {api_port}}}",
        *([f'influx: {{api: v1, url: "{influx_url}", database: {INFLUX_DB}}}'] if influx_url else []),
        "items:",
        "  - {sku: SKU, unit_weight_g: 10}",
        "bins:",
    ]
    lines += [
        f"  - {{id: B{i}, sku: SKU, line: L1, station: S{i}, container_qty: 100, reorder_point: 30,"
        " scale: {tare_g: 500}, stale_after_s: 3600"
        + (", receive_by_scale: false}" if i >= loops - rfid_tags else "}")  # received at the dock
        for i in range(loops)
    ]
    if rfid_tags:
        lines += ["rfid:", "  dedup_window_s: 0", "  readers:", "    - {id: post, role: kanban_post}",
                  "    - {id: dock, role: receiving}", "  tags:"]
        lines += [f"    - {{epc: '{i:024X}', loop: B{i}, card: 1}}" for i in range(loops - rfid_tags, loops)]
    path = directory / "plant.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def publish(
    kind: str, port: int, bins: int, count: int, *, first_bin: int = 0, qos: int = 1, rate: float = 0.0
) -> tuple[subprocess.Popen[bytes], ...]:
    """Start publishing `count` readings spread over bins first_bin.. first_bin + bins - 1."""
    if kind == "raw":
        command = [sys.executable, "-m", "bench.publisher", str(port), PREFIX, str(first_bin), str(bins), str(count),
                   "--qos", str(qos), "--rate", str(rate)]
        return (subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE),)
    # mosquitto_pub -l publishes on one topic: one process per bin topic, up to 4 of them, at full speed.
    procs = []
    n = min(4, bins)
    for k in range(n):
        share = count // n + (1 if k < count % n else 0)
        lines = b"".join(b'{"weight_g": %d}\n' % (1400 + i % 100) for i in range(share))
        proc = subprocess.Popen(
            [binary("mosquitto_pub"), "-p", str(port), "-q", str(qos), "-l", "-t", f"{PREFIX}/scale/B{first_bin + k}"],
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


def rate(count: int, first: float, last: float) -> int:
    """Messages per second between the first and the last one seen."""
    return round((count - 1) / (last - first)) if last > first and count > 1 else 0


def raw_ceiling(port: int, kind: str, bins: int, count: int, qos: int) -> dict[str, Any]:
    sub = subprocess.Popen(
        [sys.executable, "-m", "bench.subscriber", str(port), f"{PREFIX}/scale/+", str(count), "120",
         "--qos", str(qos)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise RuntimeError("subscriber did not start")
    pubs = publish(kind, port, bins, count, qos=qos)
    out, _ = sub.communicate(timeout=180)
    finish(pubs, 60)
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "qos": qos,
        "received": result["received"],
        "loss": count - result["received"],
        "elapsed_s": round(result["last"] - result["first"], 3),
        "msg_per_s": rate(result["received"], result["first"], result["last"]),
    }


def cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MB: VmRSS now, or VmHWM, the peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def peak_rss_mb(pid: int) -> float:
    return rss_mb(pid, "VmHWM")


def settle_s(loops: int) -> float:
    """How long start-up work goes on after /healthz answers: the first Andon colours of every station (one per
    bin in the bench plant), `MAX_CHANGES` a tick, and a tick to spare."""
    return 2.0 + loops / MAX_CHANGES


@dataclass(frozen=True, slots=True)
class Load:
    """What to drive a running service with."""

    kind: str
    port: int
    loops: int
    messages: int  # at full speed; 0: skip the throughput phase
    rate: float  # the fixed background rate of the latency / CPU phase
    seconds: float  # how long the fixed-rate phase lasts
    probes: int  # latency probes (one signal each) during the fixed-rate phase; 0: none
    rfid_tags: int = 0  # tags (cards) of the RFID phase, on the last bins
    rfid_reads: int = 0  # reads at full speed, each changing a card; 0: no RFID phase
    influx_url: str | None = None  # history written to this InfluxDB 1.x while driven
    qos0: bool = False  # after the QoS 1 readings, the same number again at QoS 0
    backlog: int = 0  # then readings published while the service is down, worked off after its restart


def service_run(directory: Path, api_port: int, load: Load) -> dict[str, Any]:
    directory.mkdir(parents=True, exist_ok=True)
    plant = write_plant(directory, load.loops, load.port, api_port, rfid_tags=load.rfid_tags,
                        influx_url=load.influx_url)
    api = f"http://127.0.0.1:{api_port}"
    with _service(directory, plant) as (proc, t0, log):
        result = _drive_service(proc, t0, api, load, log)
    if load.backlog:
        result["backlog"] = _restart_with_backlog(directory, plant, api, load)
    return result


@contextlib.contextmanager
def _service(directory: Path, plant: Path) -> Iterator[tuple[subprocess.Popen[bytes], float, Path]]:
    """`kanban-edge run` as its own process, as a user starts it; stopped with SIGTERM on leaving."""
    log = directory / "service.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with log.open("ab") as log_file:
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(plant)],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
        )
        try:
            yield proc, t0, log
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(proc: subprocess.Popen[bytes], http: httpx.Client, log: Path) -> None:
    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return http.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 120, "the service to report healthy", interval_s=0.01)


def _restart_with_backlog(directory: Path, plant: Path, api: str, load: Load) -> dict[str, Any]:
    """The service is stopped; `load.backlog` readings are published at QoS 1 meanwhile, which the broker
    queues for the service's persistent session; then the service starts again and works them off."""
    finish(publish(load.kind, load.port, load.loops, load.backlog), 120)
    with _service(directory, plant) as (proc, t0, log):
        http = httpx.Client(base_url=api, timeout=5)
        _wait_healthy(proc, http, log)
        startup = time.monotonic() - t0
        count, caught_up_at = _count_processed(proc, http, load.backlog, start=0)
    # No rate: the service works on the backlog before /healthz answers, and counting starts after it does.
    return {
        "readings": load.backlog, "startup_s": round(startup, 3),
        "caught_up_s": round(caught_up_at - t0, 3),
        "processed": count["processed"], "loss": count["loss"],
    }


def _drive_service(proc: subprocess.Popen[bytes], t0: float, api: str, load: Load, log: Path) -> dict[str, Any]:
    http = httpx.Client(base_url=api, timeout=5)
    _wait_healthy(proc, http, log)
    result: dict[str, Any] = {"loops": load.loops, "startup_s": round(time.monotonic() - t0, 3)}
    time.sleep(settle_s(load.loops))
    result["rss_idle_mb"] = rss_mb(proc.pid)
    if load.messages:
        result |= _full_speed(proc, http, load, qos=1)
        if load.qos0:  # scales that publish at QoS 0: no acknowledgements either side, the broker's cheaper path
            result["qos0"] = _full_speed(proc, http, load, qos=0)
    result |= _fixed_rate(proc, load, api)
    if load.rfid_reads:
        result["rfid"] = _rfid(load)
    if load.influx_url:
        result["influx"] = _influx_drained(http)
    result["rejected"] = http.get("/api/v1/counters").json()["rejected"]
    result["rss_peak_mb"] = peak_rss_mb(proc.pid)
    return result


def _full_speed(proc: subprocess.Popen[bytes], http: httpx.Client, load: Load, *, qos: int) -> dict[str, Any]:
    """Readings at `qos` as fast as the publisher goes; counted by the service's own counters."""
    start = http.get("/api/v1/counters").json()["processed_since_start"]
    pubs = publish(load.kind, load.port, load.loops, load.messages, qos=qos)
    result, _ = _count_processed(proc, http, load.messages, start=start)
    finish(pubs, 60)
    return result


def _count_processed(
    proc: subprocess.Popen[bytes], http: httpx.Client, count: int, *, start: int
) -> tuple[dict[str, Any], float]:
    """Poll the service's counter until it has processed `count` readings more than `start` (or stops moving
    for STALL_S: the rest is loss); the rate and CPU from the last poll before it moved to the last that saw
    it move, and the monotonic time of that last move."""
    before_at, before_cpu = time.time(), cpu_s(proc.pid)
    processed, first_at, first_cpu, last_at, last_cpu = 0, 0.0, 0.0, 0.0, 0.0
    last_seen = time.monotonic()
    while processed < count:
        time.sleep(0.05)
        now = http.get("/api/v1/counters").json()["processed_since_start"] - start
        at, cpu = time.time(), cpu_s(proc.pid)
        if now != processed:
            if not first_at:
                first_at, first_cpu = before_at, before_cpu
            processed, last_at, last_cpu, last_seen = now, at, cpu, time.monotonic()
        elif time.monotonic() - last_seen > STALL_S:
            break
        before_at, before_cpu = at, cpu
    measured = processed if first_at else 0
    return {
        "processed": processed,
        "loss": count - processed,
        "elapsed_s": round(last_at - first_at, 3),
        "readings_per_s": round(measured / (last_at - first_at)) if measured else 0,
        "cpu_cores_full_speed": round((last_cpu - first_cpu) / (last_at - first_at), 2) if measured else None,
        "cpu_us_per_reading": round((last_cpu - first_cpu) / measured * 1e6, 1) if measured else None,
    }, last_seen


def _influx_drained(http: httpx.Client) -> dict[str, Any]:
    """Wait until every line the service queued for InfluxDB was written (or refused); what it wrote."""
    t0 = time.monotonic()

    def stats() -> dict[str, Any]:
        answer = http.get("/api/v1/outbox").json()
        return dict(answer["influx"]) | {"pending": answer["consumers"].get("influx", {}).get("pending", 0)}

    def drained() -> bool:
        s = stats()
        return bool(s["lines_written"] + s["lines_rejected"] == s["lines_queued"] and s["pending"] == 0)

    wait_until(drained, 120, "the InfluxDB lines to be written", interval_s=0.1)
    s = stats()
    return {"lines_written": s["lines_written"], "lines_rejected": s["lines_rejected"],
            "drain_s": round(time.monotonic() - t0, 2)}


def start_influx(directory: Path) -> tuple[subprocess.Popen[bytes], str] | None:
    """A real influxd with database `kanban`, or None when InfluxDB is not installed."""
    binary = influxd_binary()
    if binary is None:
        print("influxd not installed: the InfluxDB phase is skipped (scripts/system-deps.sh installs it)")
        return None
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = spawn_influxd(binary, directory, port, free_port())
    url = f"http://127.0.0.1:{port}"

    def pings() -> bool:
        try:
            return httpx.get(f"{url}/ping", timeout=1).status_code < 300
        except httpx.HTTPError:
            return False

    wait_until(pings, 30, "influxd to answer /ping")
    httpx.post(f"{url}/query", data={"q": f"CREATE DATABASE {INFLUX_DB}"}, timeout=10).raise_for_status()
    return proc, url


def _fixed_rate(proc: subprocess.Popen[bytes], load: Load, api: str) -> dict[str, Any]:
    """Readings at a fixed rate on the bins the probes leave alone; latency probes on the first bins, timed on
    the signal topic and on the API's live event stream."""
    cpu0, wall0 = cpu_s(proc.pid), time.monotonic()
    latency = _probed(load, api)
    cpu = cpu_s(proc.pid) - cpu0
    wall = time.monotonic() - wall0
    return {"fixed_rate": load.rate, "cpu_cores_at_fixed_rate": round(cpu / wall, 2), "latency": latency}


def _probed(load: Load, api: str | None) -> dict[str, Any] | None:
    """The fixed background rate for `load.seconds`, with the latency probe's figures when it has probes."""
    background = round(load.rate * load.seconds)
    pubs = publish("raw", load.port, load.loops - load.probes, background, first_bin=load.probes, rate=load.rate)
    latency: dict[str, Any] | None = None
    if load.probes:
        time.sleep(min(1.0, load.seconds / 4))  # the background is running before the first probe
        probe_rate = load.probes / (load.seconds / 2)
        probe = subprocess.Popen(
            [sys.executable, "-m", "bench.latency_probe", str(load.port), PREFIX, str(load.probes), str(probe_rate),
             *(["--api", api] if api else [])],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        out, _ = probe.communicate(timeout=load.seconds + 60)
        latency = json.loads(out.strip().splitlines()[-1])
    finish(pubs, load.seconds + 60)
    return latency


def raw_latency(load: Load) -> dict[str, Any] | None:
    """The latency phase with bench/echo.py in the service's place: what the broker, the publisher and the probe
    sharing this machine leave of the latency budget."""
    echo = subprocess.Popen(
        [sys.executable, "-m", "bench.echo", str(load.port), PREFIX],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert echo.stdout is not None
    assert echo.stdin is not None
    try:
        if echo.stdout.readline().strip() != "ready":
            raise RuntimeError("echo did not start")
        return _probed(load, None)
    finally:
        echo.stdin.close()
        echo.wait(timeout=30)


def _rfid(load: Load) -> dict[str, Any]:
    """RFID reads that each release or receive a card, QoS 1, acknowledged after commit; the events are
    counted, and their rate taken, as they come out on the signal topic after their commit."""
    count = load.rfid_reads
    sub = subprocess.Popen(
        [sys.executable, "-m", "bench.subscriber", str(load.port), f"{PREFIX}/signal/+", str(count), "120"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise RuntimeError("subscriber did not start")
    pub = subprocess.Popen(
        [sys.executable, "-m", "bench.rfid_publisher", str(load.port), PREFIX, str(load.loops - load.rfid_tags),
         str(load.rfid_tags), str(count)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    pub.communicate(timeout=180)
    if pub.returncode != 0:
        raise RuntimeError(f"RFID publisher exited with {pub.returncode}")
    out, _ = sub.communicate(timeout=180)
    seen = json.loads(out.strip().splitlines()[-1])
    return {
        "reads": count,
        # The broker acknowledges the publisher at once; the events count once committed and published.
        "events_per_s": rate(seen["received"], seen["first"], seen["last"]),
        "events_published": seen["received"],
        "lost": count - seen["received"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--loops", type=int, default=10_000, help="scale loops (bins) in the plant file")
    parser.add_argument("--messages", type=int, default=200_000, help="readings to publish at full speed")
    parser.add_argument("--big-loops", type=int, default=50_000, help="loops of the start-up and memory run")
    parser.add_argument("--rate", type=float, default=10_000, help="readings/s of the latency and CPU phase")
    parser.add_argument("--seconds", type=float, default=10, help="duration of the fixed-rate phase")
    parser.add_argument("--probes", type=int, default=1000, help="latency probes (one signal each)")
    parser.add_argument("--rfid-tags", type=int, default=1000, help="cards read by RFID, on the last bins")
    parser.add_argument("--rfid-reads", type=int, default=50_000, help="RFID reads, each changing a card")
    parser.add_argument("--backlog", type=int, default=200_000,
                        help="readings queued by the broker while the service is down, then worked off; 0: skip")
    parser.add_argument("--publisher", choices=["raw", "mosquitto_pub"], default="raw")
    parser.add_argument("--no-influx", action="store_true", help="skip the run with InfluxDB history on")
    parser.add_argument("--smoke", action="store_true", help="small and short: a few seconds per phase")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.loops, args.messages, args.big_loops = 50, 2000, 200
        args.rate, args.seconds, args.probes = 1000, 2, 20
        args.rfid_tags, args.rfid_reads, args.backlog = 10, 200, 2000

    with tempfile.TemporaryDirectory(prefix="kanban-bench-") as tmp:
        directory = Path(tmp)
        mqtt_port = free_port()
        broker = start_mosquitto(mqtt_port, directory)
        try:
            raw1 = raw_ceiling(mqtt_port, args.publisher, args.loops, args.messages, qos=1)
            raw0 = raw_ceiling(mqtt_port, args.publisher, args.loops, args.messages, qos=0)
            main_load = Load(
                kind=args.publisher, port=mqtt_port, loops=args.loops, messages=args.messages,
                rate=args.rate, seconds=args.seconds, probes=args.probes,
                rfid_tags=args.rfid_tags, rfid_reads=args.rfid_reads, qos0=True, backlog=args.backlog,
            )
            raw_lat = raw_latency(main_load)
            svc = service_run(directory / "main", free_port(), main_load)
            influx = None if args.no_influx else start_influx(directory / "influxd")
            with_influx = None
            if influx is not None:
                try:
                    with_influx = service_run(directory / "influx", free_port(), Load(
                        kind=args.publisher, port=mqtt_port, loops=args.loops, messages=args.messages,
                        rate=args.rate, seconds=args.seconds / 2, probes=0, influx_url=influx[1],
                    ))
                finally:
                    influx[0].terminate()
                    influx[0].wait(timeout=30)
            big = service_run(directory / "big", free_port(), Load(
                kind=args.publisher, port=mqtt_port, loops=args.big_loops, messages=0,
                rate=args.rate, seconds=args.seconds / 2, probes=0,
            ))
        finally:
            broker.terminate()
            broker.wait(timeout=10)

    ratio = svc["readings_per_s"] / raw1["msg_per_s"] if raw1["msg_per_s"] else 0.0
    ratio0 = svc["qos0"]["readings_per_s"] / raw0["msg_per_s"] if raw0["msg_per_s"] else 0.0
    result = {
        "loops": args.loops, "messages": args.messages, "publisher": args.publisher,
        "raw": {"qos1": raw1, "qos0": raw0, "latency": raw_lat}, "service": svc, "influx": with_influx, "big": big,
        "ratio": round(ratio, 3), "ratio_qos0": round(ratio0, 3),
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0]},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print_table(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.json}")
    return 1 if _lost(result) else 0


def _lost(result: dict[str, Any]) -> bool:
    """Whether any phase lost a reading, a signal or an event."""
    svc, with_influx, raw_lat = result["service"], result["influx"], result["raw"]["latency"]
    latency = svc["latency"] or {}
    lost = (svc["loss"] or svc["qos0"]["loss"] or latency.get("missing") or latency.get("sse", {}).get("missing")
            or (raw_lat or {}).get("missing")
            or svc.get("rfid", {}).get("lost") or svc.get("backlog", {}).get("loss") or (with_influx or {}).get("loss"))
    return bool(lost)


def print_table(result: dict[str, Any]) -> None:
    svc, big, raw = result["service"], result["big"], result["raw"]
    qos0 = svc["qos0"]
    latency = svc["latency"] or {}
    rows = [
        ("loops", f"{result['loops']:,}"),
        ("messages at full speed", f"{result['messages']:,}"),
        ("publisher", result["publisher"]),
        *(
            (f"raw ceiling QoS {q} (count-only subscriber)", f"{r['msg_per_s']:,} msg/s, {r['loss']:,} lost")
            for q, r in ((1, raw["qos1"]), (0, raw["qos0"]))
        ),
        ("service throughput (QoS 1)", f"{svc['readings_per_s']:,} readings/s"),
        ("service ÷ raw ceiling QoS 1", f"{result['ratio']:.2f}"),
        ("processed / loss", f"{svc['processed']:,} / {svc['loss']:,}"),
        ("service throughput (QoS 0)",
         f"{qos0['readings_per_s']:,} readings/s, {qos0['processed']:,} processed, {qos0['loss']:,} lost, "
         f"{qos0['cpu_cores_full_speed']} cores, {qos0['cpu_us_per_reading']} µs/reading"),
        ("service ÷ raw ceiling QoS 0", f"{result['ratio_qos0']:.2f}"),
        ("rejected", json.dumps(svc["rejected"])),
        ("service CPU at full speed", f"{svc['cpu_cores_full_speed']} cores, {svc['cpu_us_per_reading']} µs/reading"),
        (f"raw latency at {svc['fixed_rate']:,.0f}/s (bench/echo.py in the service's place)",
         _latency(raw.get("latency") or {})),
        (f"latency publish → signal at {svc['fixed_rate']:,.0f}/s", _latency(latency)),
        (f"latency publish → signal on /api/v1/events at {svc['fixed_rate']:,.0f}/s", _latency(latency.get("sse", {}))),
        (f"service CPU at {svc['fixed_rate']:,.0f}/s", f"{svc['cpu_cores_at_fixed_rate']} cores"),
        *(
            [("RFID reads → events, ack after commit",
              f"{rfid['events_per_s']:,} events/s, {rfid['events_published']:,} of {rfid['reads']:,} published, "
              f"{rfid['lost']:,} lost")]
            if (rfid := svc.get("rfid")) else []
        ),
        *(
            [("service throughput (QoS 1), InfluxDB history on",
              f"{influx['readings_per_s']:,} readings/s, {influx['loss']:,} lost; "
              f"{influx['influx']['lines_written']:,} lines written, {influx['influx']['lines_rejected']:,} refused, "
              f"drained {influx['influx']['drain_s']} s after the readings")]
            if (influx := result.get("influx")) else []
        ),
        *(
            [(f"restart with {backlog['readings']:,} readings queued in the broker",
              f"start-up {backlog['startup_s']:.2f} s, all processed {backlog['caught_up_s']:.2f} s after the process"
              f" started, {backlog['loss']:,} lost")]
            if (backlog := svc.get("backlog")) else []
        ),
        ("start-up (process → /healthz 200)", f"{svc['startup_s']:.2f} s"),
        ("RSS after start-up / peak (VmHWM)", f"{svc['rss_idle_mb']} / {svc['rss_peak_mb']} MB"),
        (f"{big['loops']:,} loops: start-up", f"{big['startup_s']:.2f} s"),
        (f"{big['loops']:,} loops: RSS after start-up / peak", f"{big['rss_idle_mb']} / {big['rss_peak_mb']} MB"),
        (f"{big['loops']:,} loops: CPU at {big['fixed_rate']:,.0f}/s", f"{big['cpu_cores_at_fixed_rate']} cores"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"| {'metric':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")


def _latency(figures: dict[str, Any]) -> str:
    return (f"p50 {figures.get('p50_ms')} ms, p99 {figures.get('p99_ms')} ms, max {figures.get('max_ms')} ms "
            f"({figures.get('samples')} signals, {figures.get('missing')} missing)")


if __name__ == "__main__":
    sys.exit(main())
