"""API errors: every one answers `{"error": {"code": ..., "message": ...}}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from gateway.floor.card_actions import KeyReusedError, SignalNotFoundError, TransitionRefusedError
from gateway.state.committer import EffectRefusedError


class ApiError(Exception):
    """An error with an HTTP status and a stable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ApiError):
    """The id names nothing."""

    status = 404
    code = "not_found"


class ConflictError(ApiError):
    """The request contradicts the resource's state."""

    status = 409
    code = "conflict"


class IllegalTransitionError(ApiError):
    """The lifecycle of the resource does not allow the request."""

    status = 409
    code = "illegal_transition"


class InvalidRequestError(ApiError):
    """The request is well formed but cannot be honoured as asked."""

    status = 422
    code = "invalid_request"


def body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _as(answer: type[ApiError]) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A handler that answers an exception as `answer` with its message."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(body(answer.code, str(exc)), status_code=answer.status)

    return handle


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def http_code(status: int) -> str:
    """The error code of an HTTP status the framework raises."""
    return _HTTP_CODES.get(status, f"http_{status}")


def install(app: FastAPI) -> None:
    """Route every error through the one JSON shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = http_code(exc.status_code)
        return JSONResponse(body(code, str(exc.detail)), status_code=exc.status_code)

    # A card action refused by the lifecycle, from whichever route asked for it (signals, ERP updates).
    for refusal, answer in ((SignalNotFoundError, NotFoundError), (TransitionRefusedError, IllegalTransitionError),
                            (KeyReusedError, InvalidRequestError)):
        app.add_exception_handler(refusal, _as(answer))

    @app.exception_handler(EffectRefusedError)
    async def refused(request: Request, exc: EffectRefusedError) -> JSONResponse:
        message = f"the change could not be stored, nothing was changed: {exc}"
        return JSONResponse(body("unstorable", message), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(body("invalid_request", f"{where}: {first['msg']}"), status_code=422)
