"""Station schedules: which epoch times a shift covers, in the schedule's time zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.floor import Schedule
from config.load import ConfigError, load_config

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


SCHEDULE = Schedule.model_validate({
    "timezone": "Europe/Berlin",
    "shifts": [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00"},
        {"days": ["fri"], "start": "22:00", "end": "06:00"},  # the night from Friday to Saturday
    ],
})


@pytest.mark.parametrize(
    ("local", "running"),
    [
        ("2026-11-27 06:00", True),  # a Friday
        ("2026-11-27 13:59", True),
        ("2026-11-27 14:00", False),
        ("2026-11-27 05:59", False),
        ("2026-11-27 23:30", True),
        ("2026-11-28 05:59", True),  # Saturday morning: still Friday's night shift
        ("2026-11-28 06:00", False),
        ("2026-11-28 10:00", False),
        ("2026-11-29 23:00", False),  # Sunday night: no shift starts on Sunday
    ],
)
def test_running(local: str, running: bool) -> None:
    assert SCHEDULE.running(at(local)) is running


def test_unknown_time_zone_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "plant.yaml"
    path.write_text(
        "site: t\nstations:\n  - id: S1\n    line: L1\n    stalled_after_s: 600\n"
        "    schedule:\n      timezone: Europe/Atlantis\n      shifts: [{start: '06:00', end: '14:00'}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert (issue.line, issue.path) == (7, "stations[0].schedule.timezone")
    assert issue.reason == "unknown time zone 'Europe/Atlantis'"
