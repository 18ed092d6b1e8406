"""A real InfluxDB 1.x (`influxd`) on loopback ports with its own data directory, for the bench and the tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

INFLUXD_CONF = """\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{dir}/meta"
[data]
  dir = "{dir}/data"
  wal-dir = "{dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
[monitor]
  store-enabled = false
"""


def influxd_binary() -> str | None:
    """Path of `influxd`, or None when InfluxDB is not installed."""
    return shutil.which("influxd")


def spawn_influxd(binary: str, directory: Path, http_port: int, rpc_port: int) -> subprocess.Popen[bytes]:
    """Start influxd with data under `directory`; the caller waits for /ping and creates its database."""
    conf = directory / "influxd.conf"
    conf.write_text(INFLUXD_CONF.format(rpc_port=rpc_port, dir=directory, http_port=http_port))
    return subprocess.Popen([binary, "-config", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
