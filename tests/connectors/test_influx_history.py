"""History queries: interval choice, quoting, and reading both answer formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.influx_history import auto_every, every_s, influxql, parse_flux_csv, parse_influxql

T0 = datetime(2026, 11, 27, tzinfo=UTC)


def test_every_is_a_number_and_a_unit_and_defaults_to_at_most_2000_points() -> None:
    assert [every_s(e) for e in ("30s", "5m", "1h", "2d")] == [30, 300, 3600, 172800]
    for bad in ("5", "m", "0s", "1w", "5m; DROP", "5m\n"):
        with pytest.raises(ValueError, match="unit"):
            every_s(bad)
    assert auto_every(T0, T0 + timedelta(hours=1)) == "10s"
    assert auto_every(T0, T0 + timedelta(hours=24)) == "1m"
    assert auto_every(T0, T0 + timedelta(days=365)) == "6h"


def test_influxql_quotes_values() -> None:
    q = influxql(site="p7", bin_id="B'1", start=T0, stop=T0 + timedelta(hours=1), every="1m")
    assert "\"bin\" = 'B\\'1'" in q
    assert "time >= '2026-11-27T00:00:00.000Z' AND time < '2026-11-27T01:00:00.000Z' GROUP BY time(1m)" in q


def test_influxql_answer_and_its_errors() -> None:
    answer = {"results": [{"statement_id": 0, "series": [{
        "name": "bin_level", "columns": ["time", "pieces", "weight_g", "level_pct"],
        "values": [[1795773600000, 50.5, 1505.0, 25.25]]}]}]}
    [point] = parse_influxql(answer)
    assert (point.time, point.pieces, point.weight_g, point.level_pct) == (
        T0 + timedelta(hours=10), 50.5, 1505.0, 25.25
    )
    assert parse_influxql({"results": [{"statement_id": 0}]}) == []


# The annotated CSV layout of /api/v2/query after a pivot, as InfluxDB 2.x documents it.
FLUX_CSV = """\
#group,false,false,true,true,false,true,true,true,false,false,false
#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,double,double,double
#default,_result,,,,,,,,,,
,result,table,_start,_stop,_time,_measurement,bin,site,level_pct,pieces,weight_g
,,0,2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,2026-11-27T10:01:00Z,bin_level,B1,p7,24,48,1480
,,0,2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,2026-11-27T10:00:00Z,bin_level,B1,p7,25,50,,

"""


def test_flux_csv_answer() -> None:
    points = parse_flux_csv(FLUX_CSV)
    assert [(p.time, p.pieces, p.weight_g, p.level_pct) for p in points] == [
        (T0 + timedelta(hours=10), 50.0, None, 25.0),
        (T0 + timedelta(hours=10, minutes=1), 48.0, 1480.0, 24.0),
    ]
