"""How times are written in what goes on MQTT and over the API: ISO 8601, UTC, milliseconds, a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC time with milliseconds."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
