"""The service's own sections of the plant file: broker, storage, HTTP API and input limits."""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from config.base import Ident, Section


class TlsConfig(Section):
    """TLS towards the broker; the files are PEM."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @field_validator("ca_file", "cert_file", "key_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value


class MqttConfig(Section):
    """Broker connection. `client_id` and `topic_prefix` default from the site id."""

    url: str = "mqtt://localhost:1883"
    client_id: Ident | None = None
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsConfig | None = None
    topic_prefix: str | None = Field(default=None, pattern=r"^[^+#]+[^/+#]$")
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    reconnect_max_s: float = Field(default=30.0, ge=1.0, le=600.0)
    # MQTT 5 only (3.1.1 sessions last until the broker's own expiry): how long the broker keeps the service's
    # session, and the QoS 1 readings queued for it, while the service is down. 4294967295: never expires.
    session_expiry_s: int = Field(default=7 * 86400, ge=0, le=0xFFFFFFFF)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError("scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError("no host in url")
        _ = parts.port  # raises ValueError for a port that is not a number in range
        return value

    @property
    def host(self) -> str:
        """Broker host name."""
        return urlsplit(self.url).hostname or "localhost"

    @property
    def use_tls(self) -> bool:
        """Whether the url asks for TLS (mqtts://) or TLS files are given."""
        return urlsplit(self.url).scheme in ("mqtts", "ssl") or self.tls is not None

    @property
    def port(self) -> int:
        """Broker port: as given, else 8883 with TLS and 1883 without."""
        return urlsplit(self.url).port or (8883 if self.use_tls else 1883)


class StorageConfig(Section):
    """Where state lives. Relative paths are relative to the working directory."""

    path: Path = Path("data/kanban-edge.db")
    snapshot_interval_s: float = Field(default=10.0, gt=0, le=3600)
    # Committed events older than this are deleted once published and handed to the connectors: a PLC
    # counter logs an event per part, so an unbounded log would fill the disk of a busy plant.
    event_log_days: float = Field(default=30.0, gt=0, le=3650)


Role = Literal["viewer", "operator", "erp", "admin", "display"]
"""What a key may do: read (viewer), also acknowledge alarms and correct WIP (operator), also move signals through
their lifecycle (erp), everything (admin); `display` only shows the Andon board (a wall TV)."""

MIN_KEY_CHARS = 24


def _digest(value: object) -> bytes:
    """An API key as the service keeps it: its SHA-256, never the key itself."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not isinstance(text, str):
        raise ValueError("a key is a string (from the environment: key: ${KANBAN_KEY_...})")
    if len(text) < MIN_KEY_CHARS or not text.isprintable() or " " in text:
        raise ValueError(f"a key needs at least {MIN_KEY_CHARS} printable characters and no spaces"
                         " (make one with: openssl rand -hex 24)")
    return hashlib.sha256(text.encode()).digest()


class ApiKey(Section):
    """A key of the API: who holds it (`name`, shown in logs and as who moved a signal) and what it may do."""

    name: Ident
    role: Role
    # Its SHA-256: the key itself is not kept.
    key: Annotated[bytes, BeforeValidator(_digest)] = Field(
        repr=False, json_schema_extra={"shown_as": f"secret (use ${{VAR}}), {MIN_KEY_CHARS}+ characters"}
    )


class ApiTls(Section):
    """HTTPS for the API itself, for plants without a reverse proxy in front; PEM files."""

    cert_file: Path
    key_file: Path

    @field_validator("cert_file", "key_file")
    @classmethod
    def _exists(cls, value: Path) -> Path:
        if not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value


class ApiConfig(Section):
    """The HTTP API. The default listens on loopback only; set host 0.0.0.0 to serve the plant network.

    Writes need a key with a role (`keys`), unless the API listens on loopback only and no key is configured
    (one person's machine). Reads need a key too, unless `anonymous_read` (default: on loopback only)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/]+")  # for links sent to suppliers
    event_stream_max_queued: int = Field(default=10_000, ge=1, le=10_000_000)  # per live-stream client
    # A request body over this is refused with 413 before it is read whole (the API's bodies are a few bytes).
    max_body_bytes: int = Field(default=65536, ge=1024, le=16 << 20)
    keys: list[ApiKey] = []
    anonymous_read: bool | None = None  # None: only when the API listens on loopback
    tls: ApiTls | None = None

    @model_validator(mode="after")
    def _unique_keys(self) -> ApiConfig:
        names = [k.name for k in self.keys]
        if len(set(names)) < len(names):
            raise ValueError(f"keys: duplicate name {next(n for n in names if names.count(n) > 1)!r}")
        if len({k.key for k in self.keys}) < len(self.keys):
            raise ValueError("keys: the same key is given twice; each holder needs a key of their own")
        return self

    @property
    def loopback(self) -> bool:
        """Whether only this machine can reach the API."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def reads_open(self) -> bool:
        """Whether a caller without a key may read."""
        return self.loopback if self.anonymous_read is None else self.anonymous_read

    @property
    def writes_open(self) -> bool:
        """Whether a caller without a key may write: only on loopback, and only while no key is configured."""
        return self.loopback and not self.keys


class IngestConfig(Section):
    """Limits applied to every incoming payload."""

    max_payload_bytes: int = Field(default=65536, ge=16, le=1 << 20)
    max_clock_skew_s: float = Field(default=300.0, ge=0)

