"""SGTIN-96 decoding against the GS1 EPC Tag Data Standard's worked example; other EPCs are not SGTIN-96."""

from __future__ import annotations

import pytest

from gateway.ingest.epc import Sgtin, check_digit, decode_sgtin96


def test_gs1_tds_example_sgtin96() -> None:
    # TDS: urn:epc:tag:sgtin-96:3.0614141.812345.6789 is 3074257BF7194E4000001A85; GTIN (01) 80614141123458.
    sgtin = decode_sgtin96("3074257BF7194E4000001A85")
    assert sgtin == Sgtin(filter=3, company_prefix="0614141", item_reference="812345", serial=6789)
    assert sgtin.gtin == "80614141123458"
    assert sgtin.urn == "urn:epc:id:sgtin:0614141.812345.6789"


def test_lower_case_hex_decodes_the_same() -> None:
    assert decode_sgtin96("3074257bf7194e4000001a85") == decode_sgtin96("3074257BF7194E4000001A85")


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("8061414112345", 8),  # the TDS example's GTIN-14
        ("400638133393", 1),  # GTIN-13 4006381333931
    ],
)
def test_gs1_check_digit(digits: str, check: int) -> None:
    assert check_digit(digits) == check


@pytest.mark.parametrize(
    "epc",
    [
        "E2801160600002054E7F8A1B",  # a TID-style / unprogrammed EPC: another header
        "3574257BF7194E4000001A85",  # header 0x35 (GID-96)
        "3074257BF7194E4000001A",  # 88 bits
        "307C257BF7194E4000001A85",  # partition 7 does not exist
        "30XX257BF7194E4000001A85",
    ],
)
def test_other_epcs_are_not_sgtin96(epc: str) -> None:
    assert decode_sgtin96(epc) is None
