"""Scale-out figures (docs/PERFORMANCE.md, "Scale-out"), run by hand, not by `make test` or `make bench`:

    .venv/bin/python -m bench.scale_out throughput [--events 20000]
    .venv/bin/python -m bench.scale_out catch-up [--cut-s 300] [--rate-per-s 20]

Both start what the integration test starts, from docs/scale-out/: three NATS nodes, two edge mosquittos bridged
to them over TLS through a WAN link that can be cut, and `kanban-edge central-signals` with a plain QoS 1
subscriber on the central side. Each edge broker is sent signal events as the service publishes them (QoS 1,
on <prefix>/signal/<bin>); the service itself is measured by `make bench`.

throughput: both edges get `--events` events each, as fast as one mosquitto_pub sends them; prints the rate at
    which each edge's events reached the central consumer, and both edges' together at the consumer and at the
    plain subscriber.
catch-up: both edges publish `--rate-per-s` events a second; the WAN is cut for `--cut-s`; prints how long after
    the WAN is back the central consumer holds every event published before, with the bridge's own reconnect
    backoff of the example configuration (2 s, doubling to 30 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.central_cluster import CentralCluster, Tls, WanLink, make_tls, start_edge_broker
from tests.conftest import ROOT, free_port

SITES = ("site-a", "site-b")
PASSWORDS = {"PLANT_7_PASSWORD": "bench-edge-a", "PLANT_9_PASSWORD": "bench-edge-b"}
ENV = os.environ | PASSWORDS | {"CENTRAL_SIGNALS_PASSWORD": "bench-signals", "CENTRAL_READER_PASSWORD": "bench-reader"}


class Setup:
    """The central cluster, two bridged edges and the central consumer."""

    def __init__(self, directory: Path, restart_timeout: str) -> None:
        self.tls: Tls = make_tls(directory)
        sites = dict(zip(("plant-7", "plant-9"), SITES, strict=True))  # the example's sites are the bench's
        self.cluster = CentralCluster.create(directory, self.tls, sites, ENV)
        self.db = directory / "central-signals.db"
        self.central_port = self.cluster.nodes[2].mqtt_port
        self.consumer: subprocess.Popen[bytes] | None = None
        self.wans: list[WanLink] = []
        self.edge_ports: list[int] = []
        self._brokers: list[subprocess.Popen[bytes]] = []
        self._directory, self._restart_timeout = directory, restart_timeout

    def start(self) -> None:
        self.cluster.start()
        self.consumer = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--log-level", "WARNING", "central-signals", "--broker",
             f"mqtts://127.0.0.1:{self.central_port}", "--ca-file", str(self.tls.ca), "--db", str(self.db)],
            cwd=ROOT, stdout=subprocess.DEVNULL,
            env=ENV | {"KANBAN_CENTRAL_USERNAME": "central-signals", "KANBAN_CENTRAL_PASSWORD": "bench-signals"},
        )
        for site, password in zip(SITES, PASSWORDS.values(), strict=True):
            wan = WanLink([node.mqtt_port for node in self.cluster.nodes])
            self.wans.append(wan)
            edge_port = free_port()
            self._brokers.append(start_edge_broker(
                self._directory / site, edge_port, site=site, wan=wan, tls=self.tls, password=password,
                restart_timeout=self._restart_timeout))
            self.edge_ports.append(edge_port)
        _until(self.db.exists, 30)
        time.sleep(2)  # the consumer's session and subscription, the bridges' first connections

    def counts(self) -> dict[str, int]:
        """Events the central consumer holds, per site."""
        with sqlite3.connect(self.db) as db:
            return dict(db.execute("SELECT site, count(*) FROM signal_events GROUP BY site").fetchall())

    def close(self) -> None:
        """Stop whatever was started."""
        if self.consumer is not None and self.consumer.poll() is None:
            self.consumer.send_signal(signal.SIGTERM)
            self.consumer.wait(timeout=15)
        for wan in self.wans:
            wan.close()
        for broker in self._brokers:
            broker.terminate()
            broker.wait(timeout=10)
        self.cluster.stop()


@contextlib.contextmanager
def setup(restart_timeout: str) -> Iterator[Setup]:
    with tempfile.TemporaryDirectory(prefix="kanban-scale-out-") as tmp:
        started = Setup(Path(tmp), restart_timeout)
        try:
            started.start()
            yield started
        finally:
            started.close()


def _event(site: str, n: int) -> str:
    return json.dumps({"type": "signal_released", "site": site, "signal_id": f"B{n % 50}-{n}", "card": 1,
                       "bin_id": f"B{n % 50}", "sku": "BOLT", "line": "L1", "station": "S1", "quantity": 100,
                       "pieces": 20, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "seq": n})


def _publisher(port: int, site: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["mosquitto_pub", "-p", str(port), "-q", "1", "-l", "-t", f"kanban/{site}/signal/B"],
                            stdin=subprocess.PIPE)


def _until(condition: Callable[[], object], timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not done within {timeout_s} s")
        time.sleep(0.05)
    return time.monotonic()


def throughput(events: int) -> None:
    with setup("1 3") as s:
        subscriber = subprocess.Popen(
            ["mosquitto_sub", "-p", str(s.central_port), "--cafile", str(s.tls.ca), "-u", "central-reader", "-P",
             "bench-reader", "-q", "1", "-t", "kanban/+/signal/#", "-C", str(2 * events)], stdout=subprocess.DEVNULL)
        time.sleep(1)
        start = time.monotonic()
        publishers = [_publisher(port, site) for port, site in zip(s.edge_ports, SITES, strict=True)]
        for pub, site in zip(publishers, SITES, strict=True):
            threading.Thread(target=pub.communicate, args=("\n".join(_event(site, n) for n in range(events)).encode()
                                                           + b"\n",), daemon=True).start()
        done: dict[str, float] = {}
        threading.Thread(target=lambda: (subscriber.wait(), done.setdefault("plain", time.monotonic())),
                         daemon=True).start()

        def all_in() -> bool:
            counts = s.counts()
            now = time.monotonic()
            done.update({site: now for site in SITES if counts.get(site, 0) >= events and site not in done})
            return all(site in done for site in SITES)

        end = _until(all_in, 600)
        _until(lambda: "plain" in done, 600)
        for site in SITES:
            print(f"{site}: {events} events at the central consumer in {done[site] - start:.1f} s: "
                  f"{events / (done[site] - start):,.0f} events/s")
        print(f"central consumer, both edges: {2 * events / (end - start):,.0f} events/s")
        print(f"plain QoS 1 subscriber, both edges: {2 * events / (done['plain'] - start):,.0f} events/s")


def catch_up(cut_s: float, rate_per_s: float) -> None:
    with setup("2 30") as s:
        publishers = [_publisher(port, site) for port, site in zip(s.edge_ports, SITES, strict=True)]
        sent = dict.fromkeys(SITES, 0)
        stop = threading.Event()

        def publish() -> None:
            while not stop.wait(1 / rate_per_s):
                for pub, site in zip(publishers, SITES, strict=True):
                    assert pub.stdin is not None
                    pub.stdin.write(_event(site, sent[site]).encode() + b"\n")
                    pub.stdin.flush()
                    sent[site] += 1

        threading.Thread(target=publish, daemon=True).start()
        time.sleep(5)
        for wan in s.wans:
            wan.cut()
        print(f"WAN cut for {cut_s:.0f} s at {rate_per_s} events/s per edge")
        time.sleep(cut_s)
        before = dict(sent)
        behind = {site: before[site] - s.counts().get(site, 0) for site in SITES}
        restored = time.monotonic()
        for wan in s.wans:
            wan.restore()
        end = _until(lambda: all(s.counts().get(site, 0) >= before[site] for site in SITES), 600)
        print(f"behind when the WAN came back: {behind}; caught up {end - restored:.1f} s later")
        stop.set()
        for pub in publishers:
            assert pub.stdin is not None
            pub.stdin.close()
            pub.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    tp = sub.add_parser("throughput")
    tp.add_argument("--events", type=int, default=20_000)
    cu = sub.add_parser("catch-up")
    cu.add_argument("--cut-s", type=float, default=300)
    cu.add_argument("--rate-per-s", type=float, default=20.0)  # the demo plant in real time (docs/PERFORMANCE.md)
    args = parser.parse_args()
    if args.what == "throughput":
        throughput(args.events)
    else:
        catch_up(args.cut_s, args.rate_per_s)


if __name__ == "__main__":
    main()
