"""A central consumer of every site's signals (docs/SCALE-OUT.md), fed from the central broker.

It subscribes with a persistent session, keeps each signal event once in a SQLite file, keyed by site, signal id
and event type (a signal is released, acknowledged, shipped, received or cancelled at most once each), and
acknowledges a message only once what it carried is committed: a message redelivered after a crash, a bridge
reconnect or a central node's failure is recognised and acknowledged again, nothing more. Each new event is
written to standard output as one JSON line, for an ERP integration to read, before it is committed: a crash
between the two repeats the line, it never loses one.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from pathlib import Path
from typing import IO, Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config.service import MqttConfig
from gateway.log_limit import LogThrottle, excerpt
from gateway.mqtt.link import Ack, AckingLink

log = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 65536
"""A signal event is a few hundred bytes; anything larger is not one."""

_Text = Annotated[str, Field(min_length=1, max_length=256)]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signal_events (
    site TEXT NOT NULL, signal_id TEXT NOT NULL, type TEXT NOT NULL,
    seq INTEGER, ts TEXT, topic TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (site, signal_id, type)
) WITHOUT ROWID
"""


class SignalEvent(BaseModel):
    """The fields of a published signal event the ledger keys and orders by; the rest is kept as sent."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Annotated[str, Field(pattern=r"^signal_[a-z_]{1,64}$")]
    site: _Text
    signal_id: _Text
    seq: int | None = Field(default=None, ge=0, le=2**63 - 1)
    ts: _Text | None = None


class SignalLedger:
    """Every site's signal events, each once, in one SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        self._db.execute("BEGIN")

    def add(self, topic: str, event: SignalEvent, body: str) -> bool:
        """Stage one event; False when the ledger already has it."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO signal_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event.site, event.signal_id, event.type, event.seq, event.ts, topic, body, now),
        )
        return cursor.rowcount == 1

    def commit(self) -> None:
        """Make what was staged durable."""
        self._db.execute("COMMIT")
        self._db.execute("BEGIN")

    def count(self) -> int:
        """How many events the ledger holds."""
        return int(self._db.execute("SELECT count(*) FROM signal_events").fetchone()[0])

    def close(self) -> None:
        self._db.execute("COMMIT")
        self._db.close()


class CentralSignals:
    """Takes messages from the central broker into the ledger; acknowledges them once committed."""

    def __init__(self, ledger: SignalLedger, out: IO[str]) -> None:
        self._ledger = ledger
        self._out = out
        self._acks: list[Ack] = []
        self._new: list[str] = []
        self._flush_due = False
        self._throttle = LogThrottle()
        self.received = 0
        self.refused = 0

    def handle(self, topic: str, payload: bytes, ack: Ack | None) -> None:
        """One message: staged when it is a new signal event, refused (and acknowledged) when it is none."""
        self.received += 1
        try:
            if len(payload) > MAX_PAYLOAD_BYTES:
                raise ValueError(f"{len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
            event = SignalEvent.model_validate_json(payload)
        except (ValueError, ValidationError) as exc:
            self._refuse(topic, exc)
        else:
            body = payload.decode()
            if self._ledger.add(topic, event, body):
                self._new.append(body)
        if ack is not None:
            self._acks.append(ack)
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write the new events out, commit them, then acknowledge the messages of this event-loop iteration.

        Written before the commit: a crash in between repeats a line on the next delivery, and loses none."""
        self._flush_due = False
        if self._new:
            self._out.write("\n".join(self._new) + "\n")
            self._out.flush()
        self._ledger.commit()
        acks, self._acks, self._new = self._acks, [], []
        for ack in acks:
            ack()

    def _refuse(self, topic: str, exc: Exception) -> None:
        self.refused += 1
        left_out = self._throttle.allow("refused", time.monotonic())
        if left_out is not None:
            log.warning("not a signal event on %s, acknowledged and left out: %s (%d more since the last line)",
                        excerpt(topic), excerpt(str(exc)), left_out)


async def run_central_signals(
    *, settings: MqttConfig, client_id: str, topics: list[str], db: Path, stop: asyncio.Event,
    out: IO[str] = sys.stdout,
) -> None:
    """Consume every site's signals from the central broker until `stop` is set."""
    ledger = SignalLedger(db)
    consumer = CentralSignals(ledger, out)
    link = AckingLink(settings=settings, client_id=client_id, subscriptions=topics, handler=consumer.handle)
    log.info("central signals: %d events in %s; subscribing to %s", ledger.count(), db, ", ".join(topics))
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(link.run(), name="central-signals.link")
        await stop.wait()
        task.cancel()
    ledger.close()
    log.info("central signals: stopped after %d messages (%d refused)", consumer.received, consumer.refused)
