"""`kanban-edge export`: the CSV exports of a running service (`GET /api/v1/<what>.csv`), to a file or stdout.

A key of the API (role viewer or above), where reads need one, comes from the environment (`KANBAN_API_KEY`), not
the command line, which other users of the machine can see."""

from __future__ import annotations

from collections.abc import Mapping
from typing import BinaryIO

import httpx

from config.service import ApiConfig

SIGNAL_FILTERS = ("status", "supplier", "line", "loop", "since", "limit")
KEY_VARIABLE = "KANBAN_API_KEY"


class ExportError(Exception):
    """The export could not be fetched: the service is not reachable or refused the request."""


def api_url(api: ApiConfig) -> str:
    """Where this machine reaches the service's API, by the plant file (a wildcard address is reached on loopback)."""
    host = "127.0.0.1" if api.host in ("0.0.0.0", "", "::") else api.host  # noqa: S104 -- read, not bound
    scheme = "https" if api.tls is not None else "http"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{api.port}"


def export_csv(
    *, base_url: str, what: str, params: Mapping[str, str], out: BinaryIO, api_key: str | None = None,
    timeout_s: float = 30.0,
) -> int:
    """Stream `GET <base_url>/api/v1/<what>.csv` into `out`; the number of bytes written."""
    url = f"{base_url.rstrip('/')}/api/v1/{what}.csv"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    written = 0
    try:
        with httpx.stream("GET", url, params=dict(params), headers=headers, timeout=timeout_s) as answer:
            if not answer.is_success:
                answer.read()
                raise ExportError(f"{url}: HTTP {answer.status_code}: {_message(answer)}")
            for chunk in answer.iter_bytes():
                out.write(chunk)
                written += len(chunk)
    except httpx.HTTPError as exc:
        raise ExportError(f"cannot fetch {url}: {exc or type(exc).__name__}") from exc
    return written


def _message(answer: httpx.Response) -> str:
    try:
        return str(answer.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]
