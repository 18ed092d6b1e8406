"""The broker for `kanban-edge demo`: an existing one, mosquitto when installed, else embedded amqtt."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

log = logging.getLogger(__name__)


def listening(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


@contextlib.asynccontextmanager
async def demo_broker(host: str, port: int) -> AsyncIterator[str]:
    """Yield a description of the broker in use; stop it on exit if we started it."""
    if listening(host, port):
        yield f"existing broker on {host}:{port}"
        return
    binary = find_mosquitto()
    if binary is not None:
        async with _mosquitto(binary, port) as description:
            yield description
        return
    async with _amqtt(port) as description:
        yield description


@contextlib.asynccontextmanager
async def _mosquitto(binary: str, port: int) -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="kanban-demo-") as tmp:
        conf = Path(tmp, "mosquitto.conf")
        conf.write_text(  # noqa: ASYNC240 - a few bytes, once, before the broker starts
            f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n")
        proc = await asyncio.create_subprocess_exec(
            binary, "-c", str(conf), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C stops the service first; the broker is stopped after it
        )
        try:
            await _wait_listening("127.0.0.1", port)
            yield f"mosquitto on 127.0.0.1:{port}"
        finally:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await proc.wait()


@contextlib.asynccontextmanager
async def _amqtt(port: int) -> AsyncIterator[str]:
    try:
        from amqtt.broker import Broker
    except ImportError as exc:
        raise RuntimeError(
            "no MQTT broker: install mosquitto (apt-get install mosquitto) or `pip install 'kanban-edge[demo]'`"
        ) from exc
    broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}}})
    await broker.start()
    try:
        yield f"embedded amqtt broker on 127.0.0.1:{port} (MQTT 3.1.1)"
    finally:
        await broker.shutdown()


async def _wait_listening(host: str, port: int, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not listening(host, port):
        if loop.time() > deadline:
            raise RuntimeError(f"the broker did not start on {host}:{port}")
        await asyncio.sleep(0.05)
