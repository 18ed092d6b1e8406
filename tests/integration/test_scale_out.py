"""Two edges bridged into a central cluster (docs/SCALE-OUT.md), all real: two mosquitto brokers with the
example bridge configuration, two services of different sites, three NATS nodes with the example node
configuration and ACL, one InfluxDB for both sites' history, `kanban-edge central-signals` and a plain
subscriber on the central side. The WAN is cut while both plants release signals, a central node is stopped,
the WAN comes back, the node comes back: every signal event of both sites reaches the central side at least
once, and the central consumer keeps each exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.central_cluster import CentralCluster, Tls, WanLink, make_tls, start_edge_broker
from tests.conftest import PLANT_HEADER, ROOT, Broker, Gateway, free_port, make_gateway, wait_for
from tests.influx_servers import Influxd

pytestmark = pytest.mark.integration

BINS = 6
TARE_G, UNIT_G = 500, 10
FULL, LOW, REFILLED = TARE_G + 100 * UNIT_G, TARE_G + 20 * UNIT_G, TARE_G + 110 * UNIT_G

PLANT = PLANT_HEADER + """\
suppliers:
  - {{id: acme, name: ACME, lead_time_h: 24}}
items:
  - {{sku: BOLT, unit_weight_g: 10, supplier: acme}}
bins:
{bins}
influx:
  api: v1
  url: {influx}
  database: kanban
  flush_interval_s: 0.2
  retry_max_s: 0.5
"""
BIN = """\
  - id: B{n}
    sku: BOLT
    line: L1
    station: S{n}
    container_qty: 100
    capacity_pieces: 120
    reorder_point: 30
    debounce: {{readings: 1}}
    scale: {{tare_g: 500}}
"""
Key = tuple[str, str, str]  # site, signal id, event type


@dataclass
class Edge:
    site: str
    broker: Broker
    gateway: Gateway
    wan: WanLink

    def weigh(self, grams: int) -> None:
        """Every bin's scale reports `grams`."""
        for n in range(BINS):
            self.broker.publish(f"{self.gateway.prefix}/scale/B{n}", json.dumps({"weight_g": grams}))

    def signal_events(self) -> set[Key]:
        """What the service committed and publishes: its signal events."""
        db = self.gateway.config.with_name("state.db")
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            bodies = [json.loads(b) for (b,) in conn.execute("SELECT body FROM events WHERE kind LIKE 'signal_%'")]
        return {(b["site"], b["signal_id"], b["type"]) for b in bodies}


class Central:
    """The central side's two readers: `kanban-edge central-signals` and a plain QoS 1 subscriber."""

    def __init__(self, directory: Path, port: int, tls: Tls, env: dict[str, str]) -> None:
        self.db, self.recorded = directory / "central-signals.db", directory / "recorded.txt"
        self._log = directory / "central-signals.log"
        self._tls, self._env = tls, env
        url = f"mqtts://127.0.0.1:{port}"
        with self._log.open("ab") as log:
            self.consumer = subprocess.Popen(
                [sys.executable, "-m", "gateway", "central-signals", "--broker", url, "--ca-file", str(tls.ca),
                 "--db", str(self.db)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                env=env | {"KANBAN_CENTRAL_USERNAME": "central-signals",
                           "KANBAN_CENTRAL_PASSWORD": env["CENTRAL_SIGNALS_PASSWORD"]},
            )
        with self.recorded.open("ab") as out:
            self.recorder = subprocess.Popen(
                ["stdbuf", "-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "--cafile", str(tls.ca), "-u",
                 "central-reader", "-P", env["CENTRAL_READER_PASSWORD"], "-i", "recorder", "-c", "-q", "1",
                 "-t", "kanban/+/signal/#", "-d"], stdout=out, stderr=subprocess.DEVNULL,
            )

    def wait_subscribed(self) -> None:
        wait_for(lambda: b"connected to" in self._log.read_bytes(), timeout_s=30, what="central-signals to connect")
        wait_for(lambda: b"received SUBACK" in self.recorded.read_bytes(), timeout_s=30, what="the subscriber")

    def retained(self, port: int, topic: str, count: int) -> list[tuple[str, dict[str, object]]]:
        """What a new subscriber gets at once on `topic`: the retained messages."""
        out = subprocess.run(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "--cafile", str(self._tls.ca), "-u", "central-reader",
             "-P", self._env["CENTRAL_READER_PASSWORD"], "-q", "1", "-t", topic, "-C", str(count), "-W", "10", "-v",
             "--retained-only"], check=False, capture_output=True, timeout=30,  # -W: fewer than count is a diff below
        ).stdout.decode()
        return [(t, json.loads(body)) for t, _, body in (line.partition(" ") for line in out.splitlines())]

    def kept(self) -> list[Key]:
        if self.consumer.poll() is not None:
            pytest.fail(f"central-signals exited:\n{self._log.read_text()[-3000:]}")
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as conn:
            return list(conn.execute("SELECT site, signal_id, type FROM signal_events"))

    def received(self) -> Counter[Key]:
        # With -d, mosquitto_sub's own lines ("Client recorder received ...") are mixed in.
        bodies = [json.loads(line) for line in self.recorded.read_text().splitlines() if line.startswith("{")]
        return Counter((b["site"], b["signal_id"], b["type"]) for b in bodies)

    def stop(self) -> None:
        for proc in (self.consumer, self.recorder):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)


@pytest.fixture
def setup(tmp_path: Path, influxd: Influxd) -> Iterator[tuple[CentralCluster, list[Edge], Central, Influxd]]:
    tls = make_tls(tmp_path)
    passwords = {"PLANT_7_PASSWORD": "secret-edge-a", "PLANT_9_PASSWORD": "secret-edge-b"}
    env = dict(os.environ, **passwords, CENTRAL_SIGNALS_PASSWORD="secret-signals",
               CENTRAL_READER_PASSWORD="secret-reader")
    bins = "".join(BIN.format(n=n) for n in range(BINS))
    edges = []
    for name, password in zip(("a", "b"), passwords.values(), strict=True):
        (tmp_path / name).mkdir()
        port = free_port()
        gw = make_gateway(tmp_path / name, port, f"scale-out-{name}", PLANT, bins=bins, influx=influxd.url)
        edges.append((gw.prefix.removeprefix("kanban/"), port, gw, password))
    # The example's two sites, plant-7 and plant-9, are the test's two.
    cluster = CentralCluster.create(tmp_path, tls, {"plant-7": edges[0][0], "plant-9": edges[1][0]}, env)
    central: Central | None = None
    started: list[Edge] = []
    procs = []
    try:
        cluster.start()
        central = Central(tmp_path, cluster.nodes[2].mqtt_port, tls, env)
        central.wait_subscribed()
        for site, port, gw, password in edges:
            wan = WanLink([node.mqtt_port for node in cluster.nodes])
            procs.append(start_edge_broker(gw.config.parent / "mosquitto", port, site=site, wan=wan, tls=tls,
                                           password=password, restart_timeout="1 3"))
            started.append(Edge(site, Broker(port), gw, wan))
            gw.start()
        yield cluster, started, central, influxd
    finally:
        if central is not None:
            central.stop()
        for edge in started:
            edge.gateway.stop()
            edge.wan.close()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        cluster.stop()


def test_every_signal_of_both_sites_reaches_the_central_side_across_a_wan_cut_and_a_node_failure(
    setup: tuple[CentralCluster, list[Edge], Central, Influxd],
) -> None:
    cluster, edges, central, influxd = setup

    def events() -> set[Key]:
        return set().union(*(edge.signal_events() for edge in edges))

    for edge in edges:  # round 1: full, then every bin below its reorder point
        edge.weigh(FULL)
        edge.weigh(LOW)
    wait_for(lambda: len(central.kept()) == 2 * BINS, timeout_s=30, what="round 1 at the central consumer")

    for edge in edges:
        edge.wan.cut()
    for edge in edges:  # round 2, behind the cut: each bin refilled (its card received), then low again
        edge.weigh(REFILLED)
        edge.weigh(LOW)
    wait_for(lambda: len(events()) == 6 * BINS, timeout_s=30, what="round 2 committed at both edges")
    assert len(central.kept()) == 2 * BINS  # nothing crossed the cut WAN

    cluster.nodes[0].stop(signal.SIGKILL)  # the node the bridges were connected to
    for edge in edges:
        edge.wan.down.add(0)
        edge.wan.restore()
    expected = events()
    wait_for(lambda: set(central.kept()) == expected, timeout_s=60, what="every signal event at the central side")

    cluster.nodes[0].start(cluster.env)  # the node comes back and catches up
    wait_for(cluster.nodes[0].rejoined, timeout_s=60, what="the restarted node to rejoin the cluster")
    for edge in edges:
        edge.wan.down.discard(0)
        edge.wan.restore()
        edge.weigh(REFILLED)  # round 3, with the cluster whole again: the second cards received
    wait_for(lambda: len(events()) == 8 * BINS, timeout_s=30, what="round 3 committed at both edges")
    expected = events()
    wait_for(lambda: set(central.kept()) == expected, timeout_s=60, what="round 3 at the central side")

    assert len(central.kept()) == len(expected)  # each exactly once
    wait_for(lambda: set(central.received()) == expected, what="every signal event at the plain subscriber")
    assert min(central.received().values()) >= 1
    assert {site for site, _, _ in expected} == {edge.site for edge in edges}

    # History of both sites in one InfluxDB: the same bin ids, told apart by the site tag.
    def signal_points() -> Counter[str]:
        return Counter(row["site"] for row in influxd.query("SELECT * FROM kanban_signal GROUP BY site"))

    per_site = Counter(site for site, _, _ in expected)
    wait_for(lambda: signal_points() == per_site, what="every signal event of both sites in InfluxDB")
