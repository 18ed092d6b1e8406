"""The simulator's reader messages are what the service's decoder reads: every format, and heartbeats."""

from __future__ import annotations

import pytest

from edge.sim.rfid_reads import FORMATS, HEARTBEATS, ReadFormat
from gateway.ingest.rfid_payloads import decode_rfid

EPC = "E28011606000020A1B2C1301"


@pytest.mark.parametrize("form", FORMATS, ids=lambda f: f.__name__)
def test_each_format_decodes_to_the_read(form: ReadFormat) -> None:
    [read] = decode_rfid(form(EPC, 2, 1_790_000_000.25))
    assert (read.epc, read.antenna) == (EPC, 2)
    assert read.ts == pytest.approx(1_790_000_000.25, abs=0.001)


@pytest.mark.parametrize("form", FORMATS, ids=lambda f: f.__name__)
def test_each_heartbeat_carries_no_read(form: ReadFormat) -> None:
    assert decode_rfid(HEARTBEATS[form]) == []
