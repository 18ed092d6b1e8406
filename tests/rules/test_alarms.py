"""Alarm lifecycle and the one-open-alarm-per-subject-and-kind invariant, under any input order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.alarms import Alarm, AlarmBook, AlarmStateError, acknowledge, level_condition
from rules.events import AlarmAcknowledged, AlarmCleared, AlarmKind, AlarmRaised


def open_alarm(book: AlarmBook, subject: str, kind: str) -> Alarm | None:
    return next((a for a in book if (a.subject, a.kind) == (subject, kind)), None)


def test_lifecycle_active_acknowledged_cleared() -> None:
    book = AlarmBook()
    raised = book.condition("S1", "wip_limit", holds=True, now=1.0, detail="WIP 12 >= 10")
    assert raised == AlarmRaised(subject="S1", alarm_kind="wip_limit", ts=1.0, detail="WIP 12 >= 10")
    assert book.condition("S1", "wip_limit", holds=True, now=2.0) is None
    assert book.acknowledge("S1", "wip_limit", 3.0) == AlarmAcknowledged(
        subject="S1", alarm_kind="wip_limit", ts=3.0, detail="WIP 12 >= 10"
    )
    alarm = open_alarm(book, "S1", "wip_limit")
    assert alarm is not None
    assert (alarm.status, alarm.acknowledged_at) == ("acknowledged", 3.0)
    assert book.acknowledge("S1", "wip_limit", 4.0) is None
    assert book.condition("S1", "wip_limit", holds=False, now=5.0, detail="WIP 7") == AlarmCleared(
        subject="S1", alarm_kind="wip_limit", ts=5.0, detail="WIP 12 >= 10"
    )
    assert open_alarm(book, "S1", "wip_limit") is None
    with pytest.raises(AlarmStateError, match="no open"):
        book.acknowledge("S1", "wip_limit", 6.0)


def test_condition_returning_while_acknowledged_raises_nothing_new() -> None:
    book = AlarmBook()
    book.condition("S1", "wip_limit", holds=True, now=1.0)
    book.acknowledge("S1", "wip_limit", 2.0)
    assert book.condition("S1", "wip_limit", holds=True, now=3.0) is None
    assert [a.status for a in book] == ["acknowledged"]


def test_an_alarm_restored_from_the_database_keeps_its_detail_in_every_event() -> None:
    saved = Alarm(subject="plc1", kind="plc_offline", status="active", raised_at=1.0, detail="connection refused")
    _, event = acknowledge(saved, 2.0)
    assert event == AlarmAcknowledged(subject="plc1", alarm_kind="plc_offline", ts=2.0, detail="connection refused")
    book = AlarmBook([saved])
    assert book.acknowledge("plc1", "plc_offline", 2.0) == event
    cleared = book.condition("plc1", "plc_offline", holds=False, now=3.0)
    assert cleared == AlarmCleared(subject="plc1", alarm_kind="plc_offline", ts=3.0, detail="connection refused")


def test_cleared_alarm_cannot_be_acknowledged() -> None:
    cleared = Alarm(subject="B1", kind="sensor_stale", status="cleared", raised_at=1.0, cleared_at=2.0)
    with pytest.raises(AlarmStateError, match="already cleared"):
        acknowledge(cleared, 3.0)


def test_kinds_and_subjects_are_independent() -> None:
    book = AlarmBook()
    events = [
        book.condition("S1", "wip_warning", holds=True, now=1.0),
        book.condition("S1", "wip_limit", holds=True, now=1.0),
        book.condition("S2", "wip_limit", holds=True, now=1.0),
    ]
    assert all(isinstance(e, AlarmRaised) for e in events)
    assert len(list(book)) == 3


def test_open_alarms_are_restored() -> None:
    saved = [
        Alarm(subject="S1", kind="wip_limit", status="acknowledged", raised_at=1.0, acknowledged_at=2.0),
        Alarm(subject="S2", kind="wip_limit", status="cleared", raised_at=1.0, cleared_at=2.0),
    ]
    book = AlarmBook(saved)
    assert book.condition("S1", "wip_limit", holds=True, now=3.0) is None
    assert isinstance(book.condition("S2", "wip_limit", holds=True, now=3.0), AlarmRaised)


@pytest.mark.parametrize(
    ("value", "active", "expected"),
    [(9, False, False), (10, False, True), (8, True, True), (7, True, False), (10, True, True)],
)
def test_level_with_hysteresis(value: int, active: bool, expected: bool) -> None:
    assert level_condition(value, 10, 2, active=active) is expected


SUBJECTS = st.sampled_from(["S1", "S2", "PLC1"])
KINDS: st.SearchStrategy[AlarmKind] = st.sampled_from(["wip_warning", "wip_limit", "plc_offline"])
STEPS = st.lists(
    st.tuples(st.sampled_from(["on", "off", "ack", "restart"]), SUBJECTS, KINDS), max_size=80
)


@given(STEPS)
def test_at_most_one_open_alarm_per_subject_and_kind_under_any_order(steps: list[tuple[str, str, AlarmKind]]) -> None:
    book = AlarmBook()
    history: dict[tuple[str, str], list[str]] = {}
    for now, (op, subject, kind) in enumerate(steps):
        if op == "restart":
            book = AlarmBook(list(book))
            continue
        if op == "ack":
            try:
                event = book.acknowledge(subject, kind, float(now))
            except AlarmStateError:
                assert open_alarm(book, subject, kind) is None
                continue
        else:
            event = book.condition(subject, kind, holds=op == "on", now=float(now), detail=f"{subject} {kind}")
        if event is not None:
            history.setdefault((subject, kind), []).append(event.kind)
            assert event.detail == f"{subject} {kind}"  # every event repeats the detail the alarm was raised with
        keys = [(a.subject, a.kind) for a in book]
        assert len(keys) == len(set(keys))
    for events in history.values():
        # raised, then optionally acknowledged, then cleared; never two raises without a clear between.
        open_ = False
        for kind in events:
            if kind == "alarm_raised":
                assert not open_
                open_ = True
            else:
                assert open_
                open_ = kind != "alarm_cleared"
