"""Who may do what: API keys with roles, checked on every route.

A key is sent as `Authorization: Bearer <key>` or `X-API-Key: <key>` (and, for the Andon board and the live
event stream a wall TV opens, as `?token=<key>`, since a browser's EventSource cannot send headers). The service
keeps only each key's SHA-256 and compares it with every configured one in constant time. A missing or unknown
key on a route that needs one answers 401, a key whose role does not allow the route 403; both are counted and
logged at a limited rate, never with the key.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from config.service import ApiConfig, ApiKey, Role
from gateway.api.errors import ApiError
from gateway.log_limit import LogThrottle, excerpt

log = logging.getLogger(__name__)

Permission = Literal["display", "read", "floor", "signals", "deliveries"]
"""What a route needs: show the Andon board (display), read anything (read), acknowledge alarms and correct WIP
(floor), move signals through their lifecycle (signals), retry deliveries (deliveries)."""

GRANTS: dict[Role, frozenset[Permission]] = {
    "display": frozenset({"display"}),
    "viewer": frozenset({"display", "read"}),
    "operator": frozenset({"display", "read", "floor"}),
    "erp": frozenset({"display", "read", "signals"}),
    "admin": frozenset({"display", "read", "floor", "signals", "deliveries"}),
}
WRITES: frozenset[Permission] = frozenset({"floor", "signals", "deliveries"})


class UnauthorizedError(ApiError):
    """No key, or one the service does not know."""

    status = 401
    code = "unauthorized"


class ForbiddenError(ApiError):
    """A known key whose role does not allow the request."""

    status = 403
    code = "forbidden"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request: a key's holder, or nobody (anonymous)."""

    name: str | None
    role: Role | None


ANONYMOUS = Caller(None, None)


class Access:
    """The API's keys and its policy for callers without one."""

    def __init__(self, config: ApiConfig) -> None:
        self._keys: list[ApiKey] = list(config.keys)
        self._reads_open = config.reads_open
        self._writes_open = config.writes_open
        self._throttle = LogThrottle()
        self.failures: Counter[str] = Counter()  # refused requests by reason: missing, unknown, forbidden

    def check(self, request: Request, permission: Permission, *, token_allowed: bool = False) -> Caller:
        """The caller of `request` if it may have `permission`, else `UnauthorizedError` / `ForbiddenError`."""
        presented = _presented(request, token_allowed=token_allowed)
        if presented is None:
            if self._writes_open if permission in WRITES else self._reads_open:
                return ANONYMOUS
            raise self._refuse(request, "missing", UnauthorizedError(
                "this needs an API key: send it as 'Authorization: Bearer <key>' (docs/SECURITY.md)"))
        key = self._match(presented)
        if key is None:
            raise self._refuse(request, "unknown", UnauthorizedError("unknown API key"))
        if permission not in GRANTS[key.role]:
            raise self._refuse(request, "forbidden", ForbiddenError(
                f"the key {key.name!r} has role {key.role}, which may not do this (needs {permission})"),
                key.name)
        return Caller(key.name, key.role)

    def _match(self, presented: str) -> ApiKey | None:
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for key in self._keys:  # every key compared, in constant time: how long it takes says nothing
            if hmac.compare_digest(digest, key.key):
                found = key
        return found

    def _refuse(self, request: Request, reason: str, error: ApiError, name: str | None = None) -> ApiError:
        self.failures[reason] += 1
        left_out = self._throttle.allow(reason, time.monotonic())
        if left_out is not None:
            client = request.client.host if request.client else "?"
            who = f" with key {name!r}" if name else ""
            more = f" ({left_out} more since the last report)" if left_out else ""
            log.warning("refused %s %s from %s%s: %s%s", request.method, excerpt(request.url.path), client, who,
                        reason, more)
        return error


def _presented(request: Request, *, token_allowed: bool) -> str | None:
    """The key a request carries, if any; "" (a key no holder has) for one it gives two different ways."""
    given: set[str] = set()
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        given.add(value.strip() if scheme.lower() == "bearer" else "")  # another scheme: not a key we know
    if (header := request.headers.get("x-api-key")) is not None:
        given.add(header)
    if not given and token_allowed and (token := request.query_params.get("token")) is not None:
        given.add(token)
    if not given:
        return None
    return given.pop() if len(given) == 1 else ""


# Declared so that the OpenAPI document (and /docs' "Authorize") shows how to send a key; `_presented` reads it.
_BEARER = HTTPBearer(auto_error=False, description="an API key of the plant file's api.keys")
_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="the same key, in a header of its own")
Dependency = Callable[..., Coroutine[Any, Any, Caller]]


def requires(permission: Permission, *, token_allowed: bool = False) -> Dependency:
    """A route dependency: the caller, once allowed `permission` (the route declares what it needs)."""

    async def caller(
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
        _header: Annotated[str | None, Security(_HEADER)] = None,
    ) -> Caller:
        access: Access = request.app.state.access
        return access.check(request, permission, token_allowed=token_allowed)

    caller.permission = permission  # type: ignore[attr-defined]  # read by the test of every route's access
    return caller


def permission_of(route: APIRoute) -> Permission | None:
    """What a route declares it needs (one of its dependencies is a `requires`), None for a public route."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        needed: Permission | None = getattr(dependant.call, "permission", None)
        if needed is not None:
            return needed
        pending += dependant.dependencies
    return None
