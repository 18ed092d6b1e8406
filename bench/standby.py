"""How fast a standby box takes over one site (docs/SCALE-OUT.md, "High availability"), run by hand:

    .venv/bin/python -m bench.standby [--loops 10000]

The primary runs the bench plant (`bench.run.write_plant`) on a mosquitto that stands for the site's broker
address; one reading per loop releases a card in every loop; an online backup of the state database is taken
(SQLite's backup API, as `sqlite3 data/kanban-edge.db ".backup ..."` does); the primary is killed (`kill -9`).
The standby copies the backup to its own state path and starts the service on the same plant file: printed
are the seconds from the start command to /healthz 200 and to the API answering with every open signal of the
backup.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.mqtt_raw import publish_packet, send_chunks
from bench.run import ROOT, free_port, start_mosquitto, wait_until, write_plant


def _start(plant: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen([sys.executable, "-m", "gateway", "run", "--config", str(plant)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=err)


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _released(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM events WHERE kind = 'signal_released'").fetchone()[0])


def _open_signals(api: str) -> int:
    return sum(b["open_cards"] for b in httpx.get(f"{api}/api/v1/bins", timeout=60).json()["bins"])


def _weigh_every_loop(port: int, loops: int, grams: int) -> None:
    """One QoS 1 reading of `grams` on every loop's scale topic, over one connection."""
    built = [publish_packet(f"kanban/bench/scale/B{i}", json.dumps({"weight_g": grams}).encode(), qos=1,
                            mid=i % 65535 + 1) for i in range(loops)]
    chunks = [b"".join(built[i : i + 500]) for i in range(0, loops, 500)]
    asyncio.run(send_chunks(port, f"bench-standby-{grams}", chunks, per_chunk=500, count=loops, qos=1, rate=0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=10_000)
    loops = parser.parse_args().loops
    with tempfile.TemporaryDirectory(prefix="kanban-standby-") as tmp:
        directory = Path(tmp)
        port, api_port = free_port(), free_port()
        broker = start_mosquitto(port, directory)
        api = f"http://127.0.0.1:{api_port}"
        primary_dir, standby_dir = directory / "primary", directory / "standby"
        primary_dir.mkdir()
        standby_dir.mkdir()
        plant = write_plant(primary_dir, loops, port, api_port)
        standby_plant = standby_dir / "plant.yaml"
        standby_plant.write_text(plant.read_text().replace(str(primary_dir), str(standby_dir)))
        primary = _start(plant, directory / "primary.log")
        standby: subprocess.Popen[bytes] | None = None
        try:
            wait_until(lambda: _healthy(api), 120, "the primary")
            # A full reading, then low ones, per loop (tare 500 g, 100 pieces of 10 g; reorder point 30 pieces).
            for grams in (1500, 700, 700):  # two low ones: the loops debounce over two readings
                _weigh_every_loop(port, loops, grams)
            # The API answers from memory as soon as the rules decide; the backup holds what is committed.
            wait_until(lambda: _released(primary_dir / "state.db") == loops, 300, "a card out in every loop")
            backup = directory / "backup.db"
            with sqlite3.connect(primary_dir / "state.db") as source, sqlite3.connect(backup) as target:
                source.backup(target)
            primary.send_signal(signal.SIGKILL)
            primary.wait(timeout=30)
            shutil.copy(backup, standby_dir / "state.db")
            started = time.monotonic()
            standby = _start(standby_plant, directory / "standby.log")
            wait_until(lambda: _healthy(api), 120, "the standby")
            healthy = time.monotonic() - started
            wait_until(lambda: _open_signals(api) == loops, 120, "the backup's open signals")
            serving = time.monotonic() - started
            print(f"{loops} loops: standby healthy {healthy:.2f} s after its start command, serving every open"
                  f" signal of the backup after {serving:.2f} s")
        finally:
            for proc in (primary, standby):
                if proc is not None and proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=60)
            broker.terminate()
            broker.wait(timeout=10)



if __name__ == "__main__":
    main()
