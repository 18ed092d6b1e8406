"""The demo's status line: redrawn in place on a terminal with log lines above it, plain lines elsewhere."""

from __future__ import annotations

import io
import logging
import re

from gateway.demo.status import StatusLine, log_above, summary


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_summary_adds_up_what_the_api_answers() -> None:
    text = summary(
        {"processed_since_start": 10, "rejected": {"over_capacity": 2, "invalid_json": 1}},
        {"count": 7, "next_cursor": None}, {"count": 2},
        {"consumers": {"influx": {"pending": 5, "delivered": 9}, "webhook:acme": {"pending": 1}}}, 31.25,
    )
    assert text == "  31.2 readings/s | 7 open signals | 2 active alarms | 6 outbox pending | 3 rejected"


def test_on_a_terminal_the_line_is_redrawn_and_log_lines_go_above_it() -> None:
    stream = Terminal()
    status = StatusLine(stream)
    root = logging.getLogger()
    with log_above(status):
        status.show("1 open signals")
        status.show("2 open signals")
        root.warning("a log line")
    out = stream.getvalue()
    assert out.startswith("\r\x1b[K1 open signals\r\x1b[K2 open signals")
    # the line cleared, the record (in the root handler's format), then the status drawn again below it
    assert re.search(r"2 open signals\r\x1b\[K[^\n]*a log line\n2 open signals", out), out
    assert out.endswith("\n")  # the last status keeps its line after the demo stops
    assert not any(type(h).__name__ == "_AboveStatus" for h in root.handlers)


def test_elsewhere_each_status_is_a_plain_line() -> None:
    stream = io.StringIO()
    status = StatusLine(stream)
    with log_above(status):
        status.show("1 open signals")
    assert stream.getvalue() == "status: 1 open signals\n"
