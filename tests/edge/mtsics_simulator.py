"""A device simulator of a Mettler Toledo scale's MT-SICS TCP interface (hand-written: no real scale here).

It answers `SI` and `S` with `reply`, which the test changes at will, and `ES` to anything else, as the
MT-SICS reference manual specifies. It runs on its own thread and event loop.
"""

from __future__ import annotations

import asyncio
import threading


class MtSicsSimulator:
    """A scale on 127.0.0.1:`port`; `reply` is what it answers to the next weigh command."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reply = b"S S     100.00 g"
        self.commands: list[bytes] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                command = line.strip()
                self.commands.append(command)
                writer.write((self.reply if command in (b"SI", b"S") else b"ES") + b"\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    def start(self) -> None:
        """Listen until `stop`."""
        ready = threading.Event()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            server = loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
            ready.set()
            loop.run_forever()
            server.close()
            # Switched off: open connections drop with it.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name=f"mt-sics:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        """Stop listening."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
