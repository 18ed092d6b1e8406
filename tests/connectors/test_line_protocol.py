"""Line protocol: escaping checked by rule, then by a real InfluxDB reading the points back."""

from __future__ import annotations

import gzip

import httpx
import pytest

from connectors.line_protocol import Point, field_value, line
from tests.influx_servers import Influxd


def test_escaping_of_names_tags_and_string_fields() -> None:
    point = Point(
        "bin level,x", {"st ation": "S=1,2", "empty": "", "a": "x\ny"},
        {"note": 'say "hi" \\ bye\nnext', "n": 3, "ok": True, "f": 1.5, "inf": float("inf")}, 1795860000123,
    )
    assert line(point) == (
        'bin\\ level\\,x,a=x\\ y,st\\ ation=S\\=1\\,2 note="say \\"hi\\" \\\\ bye\\nnext",n=3i,ok=true,f=1.5'
        " 1795860000123"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(True, "true"), (0, "0i"), (-7, "-7i"), (2**70, repr(float(2**70))), (0.1, "0.1"), (1e-7, "1e-07"),
     (float("nan"), None), ("", '""')],
)
def test_field_values(value: float | int | bool | str, text: str | None) -> None:
    assert field_value(value) == text


def test_point_without_writable_fields_is_not_written() -> None:
    assert line(Point("m", {"t": "1"}, {"x": float("nan")}, 1)) is None


def test_real_influxdb_reads_back_exactly_what_was_written(influxd: Influxd) -> None:
    points = [
        Point("bin level", {"bin": "L1 S1,B=2", "site": 'p"7'}, {"note": 'a "b" \\c\\', "pieces": 40, "pct": 20.5,
                                                               "stale": False}, 1795860000123),
        Point("bin level", {"bin": "L1 S1,B=2", "site": 'p"7'}, {"note": "", "pieces": -1, "pct": 1e-7,
                                                               "stale": True}, 1795860000124),
    ]
    body = gzip.compress("\n".join(text for p in points if (text := line(p))).encode())
    answer = httpx.post(f"{influxd.url}/write", params={"db": "kanban", "precision": "ms"}, content=body,
                        headers={"Content-Encoding": "gzip"}, timeout=10)
    assert answer.status_code == 204, answer.text

    rows = influxd.query('SELECT * FROM "bin level"')
    assert rows == [
        {"time": 1795860000123, "bin": "L1 S1,B=2", "site": 'p"7', "note": 'a "b" \\c\\', "pieces": 40,
         "pct": 20.5, "stale": False},
        {"time": 1795860000124, "bin": "L1 S1,B=2", "site": 'p"7', "note": "", "pieces": -1, "pct": 1e-7,
         "stale": True},
    ]
