"""`kanban-edge check-config FILE`: what a plant engineer runs before deploying a plant file."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from gateway import yaml_source
from gateway.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example-plant.yaml"

BAD = """\
site: t
mqtt:
  url: http://broker
items:
  - sku: BOLT
    unit_weight_g: 10
    supplier: nobody
bins:
  - id: B1
    sku: NUT
    line: L1
    station: S1
    container_qty: 100
    reorder_point: 100
api:
  prot: 8080
"""

ISSUE_LINE = re.compile(r"^(?P<file>.+):(?P<line>\d+): (?P<path>[\w.\[\]]+): (?P<reason>.+)$")


def test_example_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert len(lines) == 1
    assert "OK" in lines[0]
    assert str(EXAMPLE) in lines[0]
    assert "5 bins" in lines[0]
    assert "1 PLCs, 2 stations" in lines[0]
    assert "kanban/demo-plant" in lines[0]
    assert err == ""


def test_bad_file_lists_every_error_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD, encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "OK" not in out
    lines = err.splitlines()
    *issue_lines, summary = lines
    parsed = []
    for line in issue_lines:
        match = ISSUE_LINE.match(line)
        assert match, f"not file:line: path: reason: {line!r}"
        assert match["file"] == str(path)
        parsed.append((int(match["line"]), match["path"]))
    assert parsed == [
        (3, "mqtt.url"),
        (7, "items[0].supplier"),
        (10, "bins[0].sku"),
        (14, "bins[0].reorder_point"),
        (16, "api.prot"),
    ]
    assert summary == f"{path}: 5 error(s)"


def test_yaml_syntax_error_is_one_located_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("site: t\nbins:\n  - id: [B1\n", encoding="utf-8")
    assert main(["check-config", str(path)]) == 1
    _, err = capsys.readouterr()
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:")
    assert "YAML syntax" in first


def test_missing_file_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "missing.yaml"
    assert main(["check-config", str(path)]) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"{path}:1: cannot read file")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as stream:
        stream.truncate(yaml_source.MAX_FILE_BYTES + 1)  # sparse: takes no disk space
    assert main(["check-config", str(path)]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == (
        f"{path}:1: the file is larger than 64 MiB (67,108,865 bytes), the most a plant file may have"
    )


def test_a_file_at_the_size_limit_loads(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    size = EXAMPLE.stat().st_size
    monkeypatch.setattr(yaml_source, "MAX_FILE_BYTES", size)
    assert main(["check-config", str(EXAMPLE)]) == 0
    monkeypatch.setattr(yaml_source, "MAX_FILE_BYTES", size - 1)
    assert main(["check-config", str(EXAMPLE)]) == 1
    _, err = capsys.readouterr()
    assert f"{EXAMPLE}:1: the file is larger than" in err


def test_a_pipe_is_read_no_further_than_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(yaml_source, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "plant.fifo"
    os.mkfifo(path)
    writer = threading.Thread(target=path.write_text, args=("site: t\n" + "# padding\n" * 200,))
    writer.start()
    try:
        assert main(["check-config", str(path)]) == 1
    finally:
        writer.join(timeout=10)
    _, err = capsys.readouterr()
    limit = f"{1000 / (1 << 20):g} MiB"
    assert err.splitlines()[0] == f"{path}:1: the file is larger than {limit}, the most a plant file may have"
