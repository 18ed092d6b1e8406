"""Plant-file sections of the outbound connectors: the outbox and supplier webhooks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

EventSelector = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
"""An event `type` (signal_released, signal_cancelled, ...) or the flag `urgent`."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OutboxConfig(_Model):
    """The store-and-forward outbox shared by all connectors (its own SQLite file)."""

    path: Path | None = None  # default: next to the state database, <name>-outbox.db
    max_items: int = Field(default=1_000_000, ge=100)  # undelivered items kept; beyond it the oldest go
    keep_delivered: int = Field(default=10_000, ge=0)  # delivered webhook items kept for the API


class WebhookConfig(_Model):
    """Where and how a supplier receives its kanban events."""

    url: str
    secret: SecretStr = Field(min_length=16)
    events: list[EventSelector] = Field(default=["signal_released", "signal_cancelled"], min_length=1)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_attempts: int = Field(default=20, ge=1, le=10_000)
    max_age_h: float = Field(default=48.0, gt=0)
    retry_initial_s: float = Field(default=1.0, gt=0, le=3600)
    retry_max_s: float = Field(default=600.0, gt=0, le=86_400)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// url with a host")
        return value
