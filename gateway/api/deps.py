"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam

from gateway.api.auth import Caller, requires

if TYPE_CHECKING:
    from gateway.service import Service


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated["Service", Depends(_service)]

# What each route needs (gateway/api/auth.py): every route of the API declares one of these, or is public.
DISPLAY: list[DependsParam] = [Depends(requires("display", token_allowed=True))]
READ: list[DependsParam] = [Depends(requires("read"))]
FLOOR: list[DependsParam] = [Depends(requires("floor"))]
DELIVERIES: list[DependsParam] = [Depends(requires("deliveries"))]
SignalsCaller = Annotated[Caller, Depends(requires("signals"))]
"""The caller of a signal transition, who must be allowed to move signals."""
