"""Jinja2's sandbox, where the delivery targets' templates and expressions are compiled and run
(`config.templates` imports this module only when a plant has targets: Jinja2 costs a service 1 MB otherwise).

Templates shape what a target sends (URL, headers, query parameters, body) from an event's fields; expressions
read what it answers (the created document's id, an error). The sandbox gives a template no way into Python's
insides (attributes beginning with `_`, methods that change a value) and bounds what it can make, so a template
can only produce text. A template names an unknown field at its peril: it fails, at check-config time against a
sample event; an expression over an answer is lenient (a missing member is nothing), because answers vary.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, StrictUndefined, Template, TemplateError, TemplateSyntaxError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from config.templates import MAX_OUTPUT, RenderError

_MAX_EXPONENT = 64


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, which also refuses `*` and `**` that would make a huge value."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
            raise SecurityError(f"an exponent above {_MAX_EXPONENT} is not allowed")
        if operator == "*":
            sized, count = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(sized, str | list | tuple) and isinstance(count, int) and len(sized) * count > MAX_OUTPUT:
                raise SecurityError(f"a value longer than {MAX_OUTPUT} is not allowed")
        return super().call_binop(context, operator, left, right)


def _date(value: str, fmt: str = "%Y-%m-%d") -> str:
    """An ISO 8601 time (as in the event's fields) formatted with strftime: `{{ due_by | date('%Y-%m-%d') }}`."""
    return datetime.fromisoformat(value).strftime(fmt)


def _undefined(value: object) -> None:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # says which name or member is missing
    raise TypeError(f"{type(value).__name__} is not JSON")


def _tojson(value: Any) -> str:
    """The value as JSON text (no HTML escaping: targets get JSON, not web pages): `{{ sku | tojson }}`."""
    if isinstance(value, Undefined):
        _undefined(value)
    return json.dumps(value, ensure_ascii=False, default=_undefined)


def _environment(undefined: type[StrictUndefined] | type[ChainableUndefined]) -> _Sandbox:
    env = _Sandbox(undefined=undefined, autoescape=False, keep_trailing_newline=False)
    env.filters["date"] = _date
    env.filters["tojson"] = _tojson
    return env


_STRICT = _environment(StrictUndefined)  # templates: every name must exist
_LENIENT = _environment(ChainableUndefined)  # expressions over answers: a missing member is nothing


def _where(exc: TemplateError) -> str:
    line = exc.lineno if isinstance(exc, TemplateSyntaxError) else None
    return f"template line {line}: {exc.message}" if line and line > 1 else str(exc.message)


@lru_cache(maxsize=256)
def template(source: str) -> Template:
    """The compiled template; `RenderError` for a syntax error."""
    try:
        return _STRICT.from_string(source)
    except TemplateError as exc:
        raise RenderError(_where(exc)) from exc


@lru_cache(maxsize=256)
def expression(source: str) -> Callable[..., Any]:
    """The compiled expression, a callable over keyword arguments; `RenderError` for a syntax error."""
    try:
        return _LENIENT.compile_expression(source, undefined_to_none=True)
    except TemplateError as exc:
        raise RenderError(_where(exc)) from exc


def render(source: str, context: Mapping[str, Any]) -> str:
    """The template's text for `context`; `RenderError` when it fails or makes more than `MAX_OUTPUT`."""
    try:
        text = template(source).render(context)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)) from exc
    if len(text) > MAX_OUTPUT:
        raise RenderError(f"renders more than {MAX_OUTPUT} characters")
    return text


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """The expression's value for `context` (None for a missing member); `RenderError` when it fails."""
    try:
        return expression(source)(**context)
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)) from exc
