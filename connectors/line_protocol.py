"""InfluxDB line protocol: one point as one line, escaped as InfluxDB 1.x and 2.x parse it.

    measurement,tag=value,tag=value field=1.5,count=3i,name="text" 1795860000123   (milliseconds)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

FieldValue = float | int | bool | str

_INT64 = 2**63


@dataclass(frozen=True, slots=True)
class Point:
    """A measurement at a time (epoch milliseconds) with its tags (indexed) and fields (values)."""

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    ts_ms: int


def _no_newlines(text: str) -> str:
    # Line protocol has no escape for a newline in names and tag values: it ends the point.
    return text.replace("\r", " ").replace("\n", " ")


def escape_measurement(name: str) -> str:
    """Commas and spaces are escaped in a measurement name."""
    return _no_newlines(name).replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def escape_key(text: str) -> str:
    """Commas, equals signs and spaces are escaped in tag keys, tag values and field keys."""
    return escape_measurement(text).replace("=", "\\=")


def field_value(value: FieldValue) -> str | None:
    """A field value as written: floats plain, integers with `i`, booleans, quoted strings; None if unwritable."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i" if -_INT64 <= value < _INT64 else repr(float(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r").replace("\n", "\\n")
    return f'"{escaped}"'


def line(point: Point) -> str | None:
    """The point as one line; None when it has no writable field (InfluxDB refuses such a point)."""
    fields = [
        f"{escape_key(key)}={text}"
        for key, value in point.fields.items()
        if (text := field_value(value)) is not None
    ]
    if not fields:
        return None
    tags = "".join(
        f",{escape_key(key)}={escape_key(value)}" for key, value in sorted(point.tags.items()) if key and value
    )
    return f"{escape_measurement(point.measurement)}{tags} {','.join(fields)} {point.ts_ms}"
