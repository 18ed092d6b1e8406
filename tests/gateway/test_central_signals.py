"""`kanban-edge central-signals`: every site's signal events, each once, from a real broker."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import ROOT, Broker, wait_for

pytestmark = pytest.mark.integration


def _event(site: str, signal_id: str, kind: str = "signal_released", seq: int = 1) -> str:
    return json.dumps({"type": kind, "site": site, "signal_id": signal_id, "seq": seq, "card": 1, "bin_id": "B1"})


class Consumer:
    def __init__(self, broker: Broker, tmp_path: Path) -> None:
        self.db = tmp_path / "central.db"
        self.out = tmp_path / "central.out"
        self._args = [sys.executable, "-m", "gateway", "central-signals", "--broker",
                      f"mqtt://127.0.0.1:{broker.port}", "--db", str(self.db), "--client-id", f"central-{id(self)}"]
        self._log = tmp_path / "central.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        with self.out.open("ab") as out, self._log.open("ab") as err:
            self.proc = subprocess.Popen(self._args, cwd=ROOT, stdout=out, stderr=err,
                                         env=dict(os.environ, PYTHONUNBUFFERED="1"))
        # The link subscribes as it logs this; mosquitto handles the SUBSCRIBE before the test's next client.
        wait_for(lambda: self._log.read_bytes().count(b"connected to") > self._starts, what="the consumer to connect")
        self._starts += 1

    def rows(self) -> list[tuple[str, str, str]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(self.db) as db:
            return sorted(db.execute("SELECT site, signal_id, type FROM signal_events"))

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=15)


@pytest.fixture
def consumer(broker: Broker, tmp_path: Path) -> Iterator[Consumer]:
    c = Consumer(broker, tmp_path)
    c.start()
    yield c
    c.stop()


def test_each_signal_event_is_kept_once_per_site(broker: Broker, consumer: Consumer) -> None:
    released_a = _event("plant-7", "B1-1")
    received_a = _event("plant-7", "B1-1", "signal_received", 2)
    broker.publish_many("kanban/plant-7/signal/B1", [released_a, released_a, received_a])
    broker.publish("kanban/plant-9/signal/B1", _event("plant-9", "B1-1"))  # the same signal id at another site
    broker.publish("kanban/plant-9/signal/B1", "{not json")
    broker.publish("kanban/plant-9/signal/B1", json.dumps({"type": "wip_changed", "site": "plant-9"}))
    expected = [("plant-7", "B1-1", "signal_received"), ("plant-7", "B1-1", "signal_released"),
                ("plant-9", "B1-1", "signal_released")]
    wait_for(lambda: consumer.rows() == expected, what="three signal events in the ledger")
    lines = [json.loads(line) for line in consumer.out.read_text().splitlines()]
    assert sorted((e["site"], e["signal_id"], e["type"]) for e in lines) == expected
    assert consumer.proc is not None
    assert consumer.proc.poll() is None  # bad messages end nothing


def test_what_arrives_while_it_is_down_is_kept_after_a_kill(broker: Broker, consumer: Consumer) -> None:
    broker.publish("kanban/plant-7/signal/B1", _event("plant-7", "B1-1"))
    wait_for(lambda: len(consumer.rows()) == 1, what="the first event")
    consumer.stop(signal.SIGKILL)
    broker.publish_many("kanban/plant-7/signal/B1", [_event("plant-7", f"B1-{n}", seq=n) for n in range(2, 52)])
    consumer.start()
    wait_for(lambda: len(consumer.rows()) == 51, what="the 50 events published while the consumer was down")
    assert len(consumer.out.read_text().splitlines()) == 51


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--broker", "http://central:1883"], "--broker: scheme must be mqtt:// or mqtts://"),
        (["--broker", "mqtts://central:8883", "--ca-file", "/nonexistent/ca.pem"],
         "--ca-file: file not found: /nonexistent/ca.pem"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["central-signals", "--db", str(tmp_path / "c.db"), *args]) == 1
    assert capsys.readouterr().err == message + "\n"
