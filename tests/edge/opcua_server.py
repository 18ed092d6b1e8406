"""A real asyncua OPC UA server on loopback acting as the PLC, run on its own thread and event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from asyncua import ua
from asyncua.server.server import Server

NAMESPACE = "urn:kanban-edge:test-plc"


class OpcUaServer:
    """Variables `ns=2;s=<name>` of the given built-in types, under Objects/PLC; stop and start at will.

    `configure` is called with the server before it starts (security, users); values are kept across a restart
    unless `reset_values` is called in between, as a PLC that restarts with its counters cleared."""

    def __init__(
        self, port: int, variables: dict[str, tuple[object, ua.VariantType]],
        configure: Callable[[Server], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        self.port = port
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/plc"
        self.values = {name: value for name, (value, _) in variables.items()}
        self._types = {name: kind for name, (_, kind) in variables.items()}
        self._configure = configure
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None

    @staticmethod
    def node(name: str) -> str:
        """The node id of a variable, as the plant file names it."""
        return f"ns=2;s={name}"

    def start(self) -> None:
        """Listen on the port (again, after `stop`)."""
        ready = threading.Event()
        failed: list[BaseException] = []

        async def serve() -> None:
            server = self._server = Server()
            await server.init()
            server.set_endpoint(self.endpoint)
            index = await server.register_namespace(NAMESPACE)
            assert index == 2
            plc = await server.nodes.objects.add_object(ua.NodeId("PLC", index), "PLC")
            for name, value in self.values.items():
                kind = self._types[name]
                variable = await plc.add_variable(
                    ua.NodeId(name, index), name, ua.Variant(value, kind), datatype=ua.NodeId(ua.Int32(kind.value))
                )
                await variable.set_writable()
            if self._configure is not None:
                await self._configure(server)
            await server.start()

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:  # reported to the test by start()
                failed.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            assert self._server is not None
            loop.run_until_complete(self._server.stop())
            loop.run_until_complete(_end_sessions())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"opcua-server:{self.port}", daemon=True)
        self._thread.start()
        assert ready.wait(30), "the OPC UA server did not start"
        if failed:
            raise failed[0]

    def stop(self) -> None:
        """Stop answering: the PLC is switched off (its values are kept for `start`)."""
        if self._loop is None or self._thread is None:
            return
        self.values = {name: self.get(name) for name in self.values}
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def _call(self, work: Coroutine[Any, Any, Any]) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(10)

    def set(self, name: str, value: object, status: int = ua.StatusCodes.Good) -> None:
        """Write a variable, as the PLC program would update it (`status`: its quality, e.g. a sensor failure)."""
        assert self._server is not None
        node = self._server.get_node(self.node(name))
        self._call(node.write_value(ua.DataValue(ua.Variant(value, self._types[name]), ua.StatusCode(status))))

    def get(self, name: str) -> Any:
        """A variable's value now (a stack light's, as the client wrote it)."""
        assert self._server is not None
        return self._call(self._server.get_node(self.node(name)).read_value())


async def _end_sessions() -> None:
    """Cancel what the server leaves running after `stop` (its sessions' tasks), as a PLC switched off ends them."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
