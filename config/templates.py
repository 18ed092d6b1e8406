"""Templates and expressions of the plant file's delivery targets (docs/ERP.md), run in Jinja2's sandbox
(`config.sandbox`), which is imported when one is first compiled: a plant without targets never loads Jinja2.

Templates shape what a target sends (URL, headers, query parameters, body) from an event's fields; expressions
read what it answers (the created document's id, an error).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MAX_OUTPUT = 1 << 20
"""The most characters a template may render (and a repeated string or list may hold): far beyond any request."""


class RenderError(Exception):
    """A template or expression could not be compiled or evaluated; the message says where and why."""


def template(source: str) -> object:
    """The compiled template; `RenderError` for a syntax error."""
    from config import sandbox

    return sandbox.template(source)


def expression(source: str) -> Callable[..., Any]:
    """The compiled expression, a callable over keyword arguments; `RenderError` for a syntax error."""
    from config import sandbox

    return sandbox.expression(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """The template's text for `context`; `RenderError` when it fails or makes more than `MAX_OUTPUT`."""
    if "{" not in source:
        return source  # plain text (most headers): nothing to render, and check-config renders it per loop
    from config import sandbox

    return sandbox.render(source, context)


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """The expression's value for `context` (None for a missing member); `RenderError` when it fails."""
    from config import sandbox

    return sandbox.evaluate(source, context)
