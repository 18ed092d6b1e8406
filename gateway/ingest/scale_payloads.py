"""Decoders for the scale payloads the gateway accepts. Pure: bytes and the time in, a `Reading` out.

Accepted on a bin's scale topic, detected by shape:
- `{"weight_g": 1234.5, "stable": true, "ts": "2024-05-01T10:00:00Z"}` (`stable` and `ts` optional)
- `{"weight_kg": 1.2345}` (same optional fields)
- a bare number: grams
- Tasmota's HX711 telemetry: `{"Time": "...", "HX711": {"Weight": 1.234, ...}}` with the weight in kg

The common shape `{"weight_g": n}` / `{"weight_g": n, "stable": b}` is matched by one regular expression
before the pydantic model is tried: it takes a third of the time per reading (docs/PERFORMANCE.md). It
accepts only plain decimals of up to 15 digits on each side of the point, so it gives the same `Reading`
as the model for every payload it matches (tests/gateway/ingest/test_scale_payloads_fast.py); anything else
falls through to the model.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.ingest.errors import PayloadError, parse_json
from rules.scale_bin import Reading

_EPOCH_MS_ABOVE = 1e11  # a number this large is a timestamp in milliseconds (year 5138 in seconds)
_WS = rb"[ \t\n\r]*"  # JSON's whitespace, not Python's
_COMMON = re.compile(
    rb"\{" + _WS + rb'"weight_g"' + _WS + rb":" + _WS + rb"(-?(?:0|[1-9][0-9]{0,14}))(\.[0-9]{1,15})?" + _WS
    + rb'(?:,' + _WS + rb'"stable"' + _WS + rb":" + _WS + rb"(true|false)" + _WS + rb")?\}"
)


class _Hx711(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    Weight: float


class ScalePayload(BaseModel):
    """A JSON scale reading in any of the accepted object forms."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)
    weight_g: float | None = None
    weight_kg: float | None = None
    HX711: _Hx711 | None = None
    stable: bool = True
    ts: str | float | None = None


def decode_scale(payload: bytes, *, now: float, max_skew_s: float) -> Reading:
    """Turn a raw scale payload into a `Reading`, or raise `PayloadError` naming the reason."""
    text = payload.strip()
    common = _COMMON.fullmatch(text)
    if common is not None:
        whole, fraction, stable = common.groups()
        # An integer goes through int() as the model's does: "-0" is 0.0, not -0.0.
        weight = float(int(whole)) if fraction is None else float(whole + fraction)
        return Reading(weight_g=weight, ts=now, stable=stable != b"false")
    return decode_model(text, now=now, max_skew_s=max_skew_s)


def decode_model(payload: bytes, *, now: float, max_skew_s: float) -> Reading:
    """`decode_scale` without the fast path for the common shape: every accepted form, via the model."""
    text = payload.strip()
    if not text:
        raise PayloadError("invalid_payload", "empty payload")
    if text[0] != ord("{"):
        return Reading(weight_g=_bare_grams(text), ts=now)
    try:
        body = ScalePayload.model_validate_json(text)
    except ValidationError as exc:
        raise _rejection(exc) from exc
    weight = _weight_g(body)
    ts = now if body.ts is None else _timestamp(body.ts)
    if ts > now + max_skew_s:
        raise PayloadError("future_timestamp", f"ts is {ts - now:.0f} s ahead of the gateway clock")
    return Reading(weight_g=weight, ts=ts, stable=body.stable)


def _bare_grams(text: bytes) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        parse_json(text)  # `invalid_json` when it is not JSON at all
        raise PayloadError("invalid_payload", "expected a JSON object or a bare number") from exc
    if not math.isfinite(value):
        raise PayloadError("not_finite", "weight is NaN or infinite")
    return value


def _weight_g(body: ScalePayload) -> float:
    given = [w for w in (body.weight_g, body.weight_kg, body.HX711) if w is not None]
    if len(given) != 1:
        raise PayloadError(
            "invalid_payload", "expected exactly one of weight_g, weight_kg or HX711.Weight"
        )
    if body.weight_g is not None:
        return body.weight_g
    if body.weight_kg is not None:
        return body.weight_kg * 1000.0
    assert body.HX711 is not None
    return body.HX711.Weight * 1000.0


def _timestamp(ts: str | float) -> float:
    if isinstance(ts, float):
        return ts / 1000.0 if ts > _EPOCH_MS_ABOVE else ts
    try:
        parsed = datetime.fromisoformat(ts)
    except ValueError as exc:
        raise PayloadError("invalid_payload", f"ts is not an ISO 8601 time: {ts[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a time without a zone is taken as UTC
    return parsed.timestamp()


def _rejection(exc: ValidationError) -> PayloadError:
    err = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in err["loc"]) or "payload"
    if err["type"] == "json_invalid":
        return PayloadError("invalid_json", str(err["msg"]))
    if err["type"] == "finite_number":
        return PayloadError("not_finite", f"{where} is NaN or infinite")
    return PayloadError("invalid_payload", f"{where}: {err['msg']}")
