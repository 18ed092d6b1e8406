"""The outbox: per-item delivery state, the size cap, and durability across a killed process."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from connectors.outbox import Entry, Outbox

ROOT = Path(__file__).resolve().parents[2]


def entries(consumer: str, keys: range) -> list[Entry]:
    return [Entry(consumer=consumer, key=f"e{k}", kind="signal_released", created=100.0 + k, payload=f"{k}")
            for k in keys]


def open_outbox(path: Path, max_items: int = 1000) -> Outbox:
    return Outbox(path, max_items=max_items, keep_delivered=5)


def test_items_are_delivered_oldest_first_and_fed_seq_survives_reopening(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db")
    assert box.fed_seq() is None
    box.append(entries("webhook:a", range(3)), fed_seq=7)
    box.append(entries("webhook:b", range(3, 4)))
    first = box.next_due("webhook:a", now=200)
    assert first is not None
    assert (first.key, first.status, first.attempts) == ("e0", "pending", 0)
    box.delivered([first.id], 201, keep=True)
    box.close()

    box = open_outbox(tmp_path / "o.db")
    assert box.fed_seq() == 7
    assert [i.key for i in box.oldest("webhook:a", 10)] == ["e1", "e2"]
    assert box.stats() == {"webhook:a": {"delivered": 1, "pending": 2}, "webhook:b": {"pending": 1}}


def test_failed_attempts_wait_until_due_then_dead_letter_and_retry_revives(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db")
    box.append(entries("webhook:a", range(1)))
    [item] = box.oldest("webhook:a", 1)
    box.failed(item.id, error="HTTP 500", now=200, next_at=260)
    assert box.next_due("webhook:a", now=259) is None
    assert box.next_wake("webhook:a") == 260
    due = box.next_due("webhook:a", now=260)
    assert due is not None
    assert (due.attempts, due.last_error) == (1, "HTTP 500")

    box.failed(item.id, error="timeout", now=261, next_at=None)
    assert box.next_due("webhook:a", now=10**9) is None
    assert [i.id for i in box.items(status="dead", consumer_prefix="webhook:", limit=10)] == [item.id]

    revived = box.retry(item.id, now=300)
    assert revived is not None
    assert (revived.status, revived.attempts) == ("pending", 0)
    assert box.retry(12345, now=300) is None


def test_size_cap_drops_the_oldest_undelivered_and_counts_them(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db", max_items=100)
    box.append(entries("webhook:a", range(60)))
    dropped = box.append(entries("influx", range(60, 130)))
    assert dropped == {"webhook:a": 30}
    assert box.stats() == {"webhook:a": {"pending": 30, "dropped": 30}, "influx": {"pending": 70}}
    assert box.oldest("webhook:a", 1)[0].key == "e30"


def test_delivered_items_are_kept_up_to_a_limit_for_the_api(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db")
    box.append(entries("webhook:a", range(20)))
    box.delivered([i.id for i in box.oldest("webhook:a", 20)], 300, keep=True)
    kept = box.items(status="delivered", consumer_prefix="webhook:", limit=100)
    assert [i.key for i in kept] == [f"e{k}" for k in range(19, 14, -1)]  # the newest, newest first


WRITER = """
import sys
from pathlib import Path
from connectors.outbox import Entry, Outbox
box = Outbox(Path(sys.argv[1]), max_items=10**6, keep_delivered=0)
n = 0
while True:
    box.append([Entry("webhook:a", f"e{n}-{i}", "k", 0.0, "x" * 200) for i in range(50)], fed_seq=n)
    print(n, flush=True)
    n += 1
"""


def test_every_acknowledged_batch_survives_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acknowledged = -1
    for line in proc.stdout:
        acknowledged = int(line)
        if acknowledged >= 40:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()

    box = open_outbox(path)
    fed = box.fed_seq()
    assert fed is not None
    assert fed >= acknowledged
    stored = box.oldest("webhook:a", 10**6)
    assert len(stored) == 50 * (fed + 1)  # whole batches only
    assert {i.key for i in stored} >= {f"e{n}-{i}" for n in range(acknowledged + 1) for i in range(50)}
    box.close()
