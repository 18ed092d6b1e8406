"""deploy/kanban-edge.service passes `systemd-analyze verify` and scores as hardened by `systemd-analyze security`.

systemd-analyze comes with Debian's systemd package (scripts/system-deps.sh installs it); without it these tests
fail rather than skip. ExecStart is pointed at this environment's kanban-edge, since verify checks that the
program exists; nothing else of the unit is changed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNIT = ROOT / "deploy" / "kanban-edge.service"
INSTALLED = "/opt/kanban-edge/bin/kanban-edge"


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.fail("systemd-analyze is not installed: run `make test` (scripts/system-deps.sh installs systemd)")
    return found


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED} run --config /etc/kanban-edge/plant.yaml" in text
    here = tmp_path / "kanban-edge.service"
    here.write_text(text.replace(INSTALLED, str(Path(sys.executable).with_name("kanban-edge"))))
    return here


def test_the_unit_verifies_without_a_warning(unit: Path) -> None:
    done = subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stderr.strip()) == (0, "")


def test_the_unit_is_hardened(unit: Path) -> None:
    done = subprocess.run([systemd_analyze(), "security", "--offline=true", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)
    found = re.search(r"Overall exposure level for kanban-edge.service: ([0-9.]+)", done.stdout)
    assert found is not None, done.stdout[-2000:] + done.stderr[-2000:]
    assert float(found[1]) <= 2.0  # "OK" ends at 3.9; a unit without hardening scores 9.5


def test_the_unit_does_not_restart_what_a_person_must_fix_and_keeps_state_in_its_own_directory() -> None:
    settings = dict(line.split("=", 1) for line in UNIT.read_text().splitlines() if re.match(r"^[A-Za-z]+=", line))
    assert settings["RestartPreventExitStatus"] == "1 3"  # invalid plant file, refused state database
    assert settings["Restart"] == "on-failure"
    assert settings["User"] == "kanban-edge"
    assert settings["StateDirectory"] == "kanban-edge"
    assert settings["WorkingDirectory"] == "/var/lib/kanban-edge"
