"""The wheel installs into a fresh environment and runs from anywhere: it carries the plant files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], check=False, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


def test_the_wheel_installs_in_a_fresh_venv_and_checks_its_bundled_plants(tmp_path: Path) -> None:
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", wheels, ROOT, cwd=work)
    [wheel] = wheels.glob("kanban_edge-*.whl")
    run(sys.executable, "-m", "venv", venv, cwd=work)
    run(venv / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", wheel, cwd=work)
    kanban_edge = venv / "bin" / "kanban-edge"

    assert run(kanban_edge, "--version", cwd=work).strip() == "kanban-edge 0.1.0"
    bundled = run(venv / "bin" / "python", "-c", "from config.bundled import DEMO_PLANT as p; print(p)", cwd=work)
    demo_plant = Path(bundled.strip())
    assert demo_plant.is_relative_to(venv), demo_plant  # the installed copy, not the checkout's
    assert "30 bins" in run(kanban_edge, "check-config", demo_plant, cwd=work)
    assert "5 bins" in run(kanban_edge, "check-config", demo_plant.with_name("example-plant.yaml"), cwd=work)
    run(kanban_edge, "init", "site-7", cwd=work)
    assert "OK: site my-plant" in run(kanban_edge, "check-config", work / "site-7" / "plant.yaml", cwd=work)
