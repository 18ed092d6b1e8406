"""The gateway's few exception types."""

from __future__ import annotations

import json
from typing import Any


class PayloadError(Exception):
    """An input payload was rejected. `reason` is a stable identifier used for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_json(payload: bytes | str) -> Any:
    """JSON input as Python values; whatever makes it unreadable (bad syntax or encoding, nesting past the
    parser's depth, an integer of thousands of digits) is a `PayloadError` with reason `invalid_json`."""
    try:
        return json.loads(payload)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise PayloadError("invalid_json", reason[:200]) from exc
