"""A bin's level history from InfluxDB: InfluxQL over /query (v1), Flux over /api/v2/query (v2)."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from config.connectors import InfluxConfig

EVERY = re.compile(r"^([1-9][0-9]{0,5})(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AUTO_EVERY = ("10s", "1m", "5m", "15m", "1h", "6h", "1d", "7d")
MAX_POINTS = 2000
_FIELDS = ("pieces", "weight_g", "level_pct")


class HistoryError(Exception):
    """InfluxDB could not answer the query."""


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """The mean level of a bin over one interval."""

    time: datetime
    pieces: float | None
    weight_g: float | None
    level_pct: float | None


def every_s(every: str) -> int:
    """Seconds of an interval like `30s`, `5m`, `1h`, `1d`; ValueError otherwise."""
    match = EVERY.fullmatch(every)
    if match is None:
        raise ValueError("every must be a number and a unit (s, m, h, d), like 5m")
    return int(match[1]) * _UNIT_S[match[2]]


def auto_every(start: datetime, stop: datetime) -> str:
    """The smallest usual interval that keeps the answer under `MAX_POINTS` points."""
    span = (stop - start).total_seconds()
    return next((e for e in _AUTO_EVERY if span / every_s(e) <= MAX_POINTS), _AUTO_EVERY[-1])


def _rfc3339(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _quote(text: str, quote: str) -> str:
    return text.replace("\\", "\\\\").replace(quote, "\\" + quote)


def influxql(*, site: str, bin_id: str, start: datetime, stop: datetime, every: str) -> str:
    """The InfluxQL query for one bin's means per interval."""
    means = ", ".join(f'mean("{f}") AS "{f}"' for f in _FIELDS)
    site_, bin_ = _quote(site, "'"), _quote(bin_id, "'")
    # InfluxQL, not SQL; the values are quoted.
    return (
        f"SELECT {means} FROM \"bin_level\" WHERE \"site\" = '{site_}' AND \"bin\" = '{bin_}'"  # noqa: S608
        f" AND time >= '{_rfc3339(start)}' AND time < '{_rfc3339(stop)}' GROUP BY time({every}) fill(none)"
    )


def flux(*, bucket: str, site: str, bin_id: str, start: datetime, stop: datetime, every: str) -> str:
    """The Flux query for one bin's means per interval, one row per interval."""
    fields = " or ".join(f'r._field == "{f}"' for f in _FIELDS)
    bucket_, site_, bin_ = (_quote(v, '"') for v in (bucket, site, bin_id))
    return (
        f'from(bucket: "{bucket_}")\n'
        f"  |> range(start: {_rfc3339(start)}, stop: {_rfc3339(stop)})\n"
        f'  |> filter(fn: (r) => r._measurement == "bin_level" and r.site == "{site_}" and r.bin == "{bin_}")\n'
        f"  |> filter(fn: (r) => {fields})\n"
        "  |> toFloat()\n"
        f'  |> aggregateWindow(every: {every}, fn: mean, createEmpty: false, timeSrc: "_start")\n'
        '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")\n'
    )


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def parse_influxql(answer: dict[str, Any]) -> list[HistoryPoint]:
    """Points from a /query answer with `epoch=ms`."""
    result = (answer.get("results") or [{}])[0]
    if "error" in result:
        raise HistoryError(str(result["error"]))
    points = []
    for series in result.get("series") or []:
        columns = series["columns"]
        for row in series["values"]:
            values = dict(zip(columns, row, strict=True))
            points.append(HistoryPoint(
                time=datetime.fromtimestamp(values["time"] / 1000, UTC),
                pieces=_number(values.get("pieces")), weight_g=_number(values.get("weight_g")),
                level_pct=_number(values.get("level_pct")),
            ))
    return points


def parse_flux_csv(text: str) -> list[HistoryPoint]:
    """Points from an annotated-CSV answer of /api/v2/query (one table after the pivot)."""
    points = []
    header: list[str] | None = None
    for row in csv.reader(io.StringIO(text)):
        if not row or row[0].startswith("#"):
            header = None if not row else header
            continue
        if header is None:
            header = row
            continue
        values = dict(zip(header, row, strict=False))
        points.append(HistoryPoint(
            time=datetime.fromisoformat(values["_time"]).astimezone(UTC),
            pieces=_number(values.get("pieces")), weight_g=_number(values.get("weight_g")),
            level_pct=_number(values.get("level_pct")),
        ))
    return sorted(points, key=lambda p: p.time)


async def bin_history(
    config: InfluxConfig, *, site: str, bin_id: str, start: datetime, stop: datetime, every: str
) -> list[HistoryPoint]:
    """A bin's mean levels per interval; raises `HistoryError` when InfluxDB cannot answer."""
    headers = {} if config.token is None else {"Authorization": f"Token {config.token.get_secret_value()}"}
    auth = httpx.BasicAuth(config.username, config.password.get_secret_value()) if (
        config.username and config.password) else None
    try:
        async with httpx.AsyncClient(timeout=config.timeout_s, auth=auth, headers=headers) as client:
            if config.api == "v1":
                params = {"db": config.database or "", "epoch": "ms",
                          "q": influxql(site=site, bin_id=bin_id, start=start, stop=stop, every=every)}
                if config.retention_policy:
                    params["rp"] = config.retention_policy
                answer = await client.get(f"{config.url}/query", params=params)
                answer.raise_for_status()
                return parse_influxql(answer.json())
            query = flux(bucket=config.bucket or "", site=site, bin_id=bin_id, start=start, stop=stop, every=every)
            answer = await client.post(
                f"{config.url}/api/v2/query", params={"org": config.org or ""}, content=query,
                headers={"Content-Type": "application/vnd.flux", "Accept": "application/csv"},
            )
            answer.raise_for_status()
            return parse_flux_csv(answer.text)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise HistoryError(f"InfluxDB query failed: {exc}") from exc
