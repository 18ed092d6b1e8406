"""uvicorn, run as one task of the service rather than as the process's main loop."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn
import uvicorn.protocols.http.h11_impl  # loaded with the other modules, not when the API starts
from fastapi import FastAPI

from config.service import ApiTls


class ApiStartError(Exception):
    """The HTTP server could not start (port in use, address not available)."""


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The service owns SIGINT/SIGTERM and shuts the API down itself.
        yield


class ApiServer:
    """Serves the FastAPI app on the configured address until cancelled."""

    def __init__(self, app: FastAPI, *, host: str, port: int, tls: ApiTls | None = None) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", http="h11", ws="none",
            ssl_certfile=tls.cert_file if tls else None, ssl_keyfile=tls.key_file if tls else None,
        )
        self._server = _Server(config)
        self.host, self.port = host, port

    @property
    def started(self) -> bool:
        """Whether the server is accepting connections."""
        return bool(self._server.started)

    async def run(self) -> None:
        """Serve until cancelled."""
        try:
            await self._server.serve()
        except SystemExit as exc:  # uvicorn exits the process when it cannot bind
            raise ApiStartError(f"cannot serve the API on {self.host}:{self.port} (port in use?)") from exc
        finally:
            self._server.should_exit = True
