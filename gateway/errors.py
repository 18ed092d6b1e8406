"""The gateway's few exception types."""

from __future__ import annotations


class PayloadError(Exception):
    """An input payload was rejected. `reason` is a stable identifier used for counting."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
