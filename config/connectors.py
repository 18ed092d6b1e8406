"""Plant-file sections of the outbound connectors: the outbox, supplier webhooks and InfluxDB."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from config.base import Section


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// url with a host")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An http:// or https:// url with a host, kept as written."""

EventSelector = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
"""An event `type` (signal_released, signal_cancelled, ...) or the flag `urgent`."""


class OutboxConfig(Section):
    """The store-and-forward outbox shared by all connectors (its own SQLite file)."""

    path: Path | None = None  # default: next to the state database, <name>-outbox.db
    max_items: int = Field(default=1_000_000, ge=100)  # undelivered items kept; beyond it the oldest go
    keep_delivered: int = Field(default=10_000, ge=0)  # delivered webhook items kept for the API


class WebhookConfig(Section):
    """Where and how a supplier receives its kanban events."""

    url: HttpUrl
    secret: SecretStr = Field(min_length=16)
    events: list[EventSelector] = Field(default=["signal_released", "signal_cancelled"], min_length=1)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    max_attempts: int = Field(default=20, ge=1, le=10_000)
    max_age_h: float = Field(default=48.0, gt=0)
    retry_initial_s: float = Field(default=1.0, gt=0, le=3600)
    retry_max_s: float = Field(default=600.0, gt=0, le=86_400)


class InfluxConfig(Section):
    """Where history goes: InfluxDB 2.x/3.x/Cloud (`api: v2`) or 1.x and v1-compatible endpoints (`api: v1`)."""

    api: Literal["v1", "v2"]
    url: HttpUrl
    org: str | None = None  # v2
    bucket: str | None = None  # v2
    token: SecretStr | None = None  # v2; v1 too, for 2.x/3.x's v1-compatible endpoints
    database: str | None = None  # v1
    retention_policy: str | None = None  # v1; default: the database's default policy
    username: str | None = None  # v1
    password: SecretStr | None = None  # v1
    batch_lines: int = Field(default=5000, ge=1, le=100_000)
    flush_interval_s: float = Field(default=1.0, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    gzip: bool = True
    retry_max_s: float = Field(default=60.0, gt=0, le=3600)
    level_deadband_pct: float = Field(default=1.0, ge=0, le=100)  # write a level when it moved more than this
    level_heartbeat_s: float = Field(default=300.0, gt=0)  # ... or when this long passed since the last one

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _flavour(self) -> InfluxConfig:
        needed = ("org", "bucket", "token") if self.api == "v2" else ("database",)
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"api {self.api} needs {', '.join(missing)}")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self
