"""`kanban-edge check-config A.yaml B.yaml ...`: the sites of one company, bridged into one central broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main

SITE = """\
site: {site}
mqtt:
  url: mqtt://127.0.0.1:1883
{prefix}items:
  - {{sku: BOLT, unit_weight_g: 10}}
bins:
  - id: {bin}
    sku: BOLT
    line: {line}
    station: S1
    container_qty: 100
    reorder_point: 30
"""


def _site(tmp_path: Path, name: str, *, site: str, prefix: str | None = None, bin_id: str = "B1",
          line: str = "L1") -> Path:
    path = tmp_path / f"{name}.yaml"
    topic_prefix = f"  topic_prefix: {prefix}\n" if prefix else ""
    path.write_text(SITE.format(site=site, prefix=topic_prefix, bin=bin_id, line=line), encoding="utf-8")
    return path


def test_sites_apart_are_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _site(tmp_path, "a", site="plant-7")
    b = _site(tmp_path, "b", site="plant-9", prefix="acme/plant-9")
    assert main(["check-config", str(a), str(b)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[-1].startswith("2 sites: site ids and topics apart")


def test_a_site_id_used_twice_is_an_error_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _site(tmp_path, "a", site="plant-7")
    b = _site(tmp_path, "b", site="plant-7", prefix="kanban/area-2")
    assert main(["check-config", str(a), str(b)]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines() == [
        f"{b}:1: site: site 'plant-7' is also the site of {a}",
        "2 sites: 1 error(s) across them",
    ]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("kanban/plant-7", "kanban/plant-7"),  # the same topics
        ("kanban/plant-7", "kanban/plant-7/area-2"),  # one site's topics among the other's
    ],
)
def test_overlapping_topic_prefixes_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], first: str, second: str
) -> None:
    a = _site(tmp_path, "a", site="plant-7", prefix=first)
    b = _site(tmp_path, "b", site="area-2", prefix=second)
    assert main(["check-config", str(a), str(b)]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == (
        f"{b}:4: mqtt.topic_prefix: topics {second}/... overlap those of site 'plant-7' ({a}: {first}/...)"
    )


def test_a_prefix_that_only_starts_alike_is_apart(tmp_path: Path) -> None:
    a = _site(tmp_path, "a", site="plant-7")
    b = _site(tmp_path, "b", site="plant-70")
    assert main(["check-config", str(a), str(b)]) == 0


def test_a_dot_in_a_topic_level_is_an_error_where_it_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _site(tmp_path, "a", site="plant.7", bin_id="B.1")
    b = _site(tmp_path, "b", site="plant-9", prefix="acme/plant 9", line="L.2")
    assert main(["check-config", str(a), str(b)]) == 1
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert [line.split(" has ")[0] for line in lines[:-1]] == [
        f"{a}:1: site: 'kanban/plant.7'",
        f"{a}:7: bins[0].id: 'B.1'",
        f"{b}:4: mqtt.topic_prefix: 'acme/plant 9'",
        f"{b}:10: bins[0].line: 'L.2'",
    ]
    assert "NATS refuses the topic" in lines[0]
    assert "has ' '," in lines[2]
    assert lines[-1] == "2 sites: 4 error(s) across them"


def test_one_file_alone_is_not_held_to_the_central_broker(tmp_path: Path) -> None:
    assert main(["check-config", str(_site(tmp_path, "a", site="plant.7", bin_id="B.1"))]) == 0


def test_an_invalid_file_among_sites_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _site(tmp_path, "a", site="plant-7")
    b = tmp_path / "b.yaml"
    b.write_text("site: plant-9\nbogus: 1\n", encoding="utf-8")
    assert main(["check-config", str(a), str(b)]) == 1
    out, err = capsys.readouterr()
    assert f"{a}: OK" in out
    assert f"{b}:2: bogus: unknown field" in err
