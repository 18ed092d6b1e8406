"""`kanban-edge check-config FILE`: what a plant engineer runs before deploying a plant file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from config import yaml_source
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


# Files that would exhaust the machine if loaded naively: each is refused with one located line, quickly and
# in little memory, by `check-config` and by `run` (which loads the file in a forked child).
HOSTILE_TIME_S = 5.0
HOSTILE_PEAK_RSS = 200 << 20  # the interpreter, the text of the file and what is built of it


def _bomb() -> str:
    lines = ["site: t", "a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    return "\n".join(lines) + "\n"  # 9**9 values: 387 million


def _deep_block_mapping(levels: int) -> str:
    # One space of indentation a level: 10,000 levels come to 50 MB, within the size limit.
    return "site: t\n" + "".join(" " * i + "k:\n" for i in range(levels)) + " " * levels + "v\n"


def _write_hostile(directory: Path) -> dict[str, tuple[Path, str]]:
    """Each file, and the line it is reported with (after `file:`)."""
    files = {
        "bomb": (_bomb(), "6: YAML: aliases expand to more than 10,500 values (an alias bomb?)"),
        "deep-block": (_deep_block_mapping(10_000), "66: YAML: mappings and lists nested more than 64 levels deep"),
        "deep-flow": (
            "site: t\nbins: " + "[" * 10_000 + "]" * 10_000 + "\n",
            "2: YAML: mappings and lists nested more than 64 levels deep",
        ),
    }
    written = {}
    for name, (text, message) in files.items():
        path = directory / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        written[name] = (path, message)
    huge = directory / "huge.yaml"
    with huge.open("wb") as stream:
        stream.truncate(64 << 20 | 1)  # sparse
    written["huge"] = (huge, "1: the file is larger than 64 MiB (67,108,865 bytes), the most a plant file may have")
    return written


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    return _write_hostile(tmp_path_factory.mktemp("hostile"))


# Runs a command and writes the peak RSS of it and of the children it waited for. The peak is measured here, in a
# small process of its own, because the figure a child reports includes the memory of the process it was forked
# from, as it stood before the child started its program: pytest's, if pytest started the command itself.
# Its address space is capped, so that a file that is not refused fails the test rather than the machine.
_MEASURE = """\
import resource, subprocess, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))  # Linux: kilobytes
sys.exit(code)
"""


def _run_cli(args: list[str], cwd: Path) -> tuple[int, str, float, int]:
    """Exit code, output (stdout and stderr), seconds and peak RSS in bytes."""
    peak = cwd / "peak-rss.txt"
    command = [sys.executable, "-c", _MEASURE, str(peak), sys.executable, "-m", "gateway", *args]
    started = time.monotonic()
    with subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    ) as proc:
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"{args} still running after 60 s")
    return proc.returncode, out, time.monotonic() - started, int(peak.read_text())


@pytest.mark.parametrize("command", ["check-config", "run"])
@pytest.mark.parametrize("name", ["bomb", "deep-block", "deep-flow", "huge"])
def test_a_hostile_file_is_refused_quickly_in_little_memory(
    hostile: dict[str, tuple[Path, str]], name: str, command: str, tmp_path: Path
) -> None:
    path, message = hostile[name]
    args = ["check-config", str(path)] if command == "check-config" else ["run", "--config", str(path)]
    code, err, elapsed, peak = _run_cli(args, tmp_path)
    assert code == 1, err
    assert err.splitlines() == [f"{path}:{message}", f"{path}: 1 error(s)"]
    assert elapsed < HOSTILE_TIME_S
    assert peak < HOSTILE_PEAK_RSS, f"{peak >> 20} MiB"


def test_a_plant_within_the_limits_that_uses_an_alias_is_ok(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("scale: { tare_g: 850 }", "scale: &scale { tare_g: 850 }", 1)
    text = text.replace("scale: { tare_g: 620 }", "scale: *scale", 1)
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    code, out, _, _ = _run_cli(["check-config", str(path)], tmp_path)
    assert code == 0, out
    assert "OK" in out
