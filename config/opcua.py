"""The OPC UA transport of a PLC (plant file `plcs[].opcua`): endpoint, security, identity, and node ids."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from config.base import Section

_NODE_ID = re.compile(
    r"(?:ns=(?P<ns>\d{1,5});)?"
    r"(?:i=(?P<i>\d{1,10})"
    r"|s=(?P<s>.+)"
    r"|g=[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"|b=(?=[A-Za-z0-9+/])(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)",
    re.DOTALL,
)
_NODE_ID_FORM = "[ns=<namespace index>;]i=<number>, s=<name>, g=<guid> or b=<base64>, e.g. ns=3;s=Line1.PartsIn"


def check_node_id(value: str) -> str:
    """An OPC UA node id in the string form of OPC UA Part 6, as UaExpert and PLC tools show it."""
    found = _NODE_ID.fullmatch(value)
    if found is None:
        raise ValueError(f"not an OPC UA node id: {value!r}; expected {_NODE_ID_FORM}")
    if found["ns"] is not None and int(found["ns"]) > 0xFFFF:
        raise ValueError(f"namespace index {found['ns']} is above 65535 in {value!r}")
    if found["i"] is not None and int(found["i"]) > 0xFFFFFFFF:
        raise ValueError(f"numeric identifier {found['i']} is above 4294967295 in {value!r}")
    if found["s"] is not None and len(found["s"].encode()) > 4096:
        raise ValueError("a string identifier has at most 4096 bytes")
    return value


NodeId = Annotated[str, AfterValidator(check_node_id)]
"""A node id such as `ns=3;s="DB_Counters"."PartsIn"` or `ns=2;i=1001`."""


def _existing(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError(f"file not found: {value}")
    return value


SecurityFile = Annotated[Path, AfterValidator(_existing)]


class OpcUaSecurity(Section):
    """A signed (and encrypted) channel: this client's application instance certificate and key, and the server's
    certificate, which is trusted only as given here (DER or PEM files)."""

    policy: Literal["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"]
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: SecurityFile
    private_key: SecurityFile
    server_certificate: SecurityFile


class OpcUaUser(Section):
    """The session's user: a name and password, or an X.509 user certificate and its key."""

    name: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    certificate: SecurityFile | None = None
    private_key: SecurityFile | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> OpcUaUser:
        by_name = self.name is not None or self.password is not None
        by_certificate = self.certificate is not None or self.private_key is not None
        if by_name == by_certificate:
            raise ValueError("give name and password, or certificate and private_key, exactly one of them")
        if by_name and (self.name is None or self.password is None):
            raise ValueError("a user needs both name and password")
        if by_certificate and (self.certificate is None or self.private_key is None):
            raise ValueError("a user certificate needs its private_key")
        return self


class OpcUaConfig(Section):
    """Where the PLC's OPC UA server is and how to log in: without `security` the channel is neither signed nor
    encrypted (security policy None), without `user` the session is anonymous."""

    endpoint: str
    security: OpcUaSecurity | None = None
    user: OpcUaUser | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "opc.tcp":
            raise ValueError("the endpoint must be an opc.tcp:// URL, e.g. opc.tcp://192.168.0.10:4840")
        if not parts.hostname:
            raise ValueError("no host in the endpoint")
        _ = parts.port  # raises ValueError for a port that is not a number in range
        return value
