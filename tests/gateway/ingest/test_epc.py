"""SGTIN-96 and GRAI-96 decoding against the GS1 EPC Tag Data Standard's worked examples; other EPCs are
neither."""

from __future__ import annotations

import pytest

from gateway.ingest.epc import Grai, Sgtin, check_digit, decode_grai96, decode_sgtin96


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


def test_gs1_tds_example_grai96() -> None:
    # TDS: urn:epc:tag:grai-96:3.0614141.12345.400 is 3374257BF40C0E4000000190; GRAI (8003) 00614141123452 400.
    grai = decode_grai96("3374257BF40C0E4000000190")
    assert grai == Grai(filter=3, company_prefix="0614141", asset_type="12345", serial=400)
    assert grai.asset_grai == "00614141123452"
    assert grai.urn == "urn:epc:id:grai:0614141.12345.400"
    assert decode_sgtin96("3374257BF40C0E4000000190") is None  # each scheme decodes its own header only


@pytest.mark.parametrize(
    ("epc", "urn", "asset_grai"),
    [
        # The largest serial (2^38 - 1), a 12-digit company prefix that leaves no digit for the asset type.
        ("330000000000043FFFFFFFFF", "urn:epc:id:grai:000000000001..274877906943", "00000000000017"),
        ("33387890027EFC400000162E", "urn:epc:id:grai:123456.654321.5678", "01234566543216"),  # 6-digit prefix
        ("33400B7F7070D40000000011", "urn:epc:id:grai:012345678901..17", "00123456789012"),
    ],
)
def test_grai96_partitions(epc: str, urn: str, asset_grai: str) -> None:
    grai = decode_grai96(epc)
    assert grai is not None
    assert (grai.urn, grai.asset_grai) == (urn, asset_grai)


@pytest.mark.parametrize(
    "epc",
    [
        "3074257BF7194E4000001A85",  # SGTIN-96
        "337C257BF40C0E4000000190",  # partition 7 does not exist
        "3374257BF40C0E40000001",  # 88 bits
        "33743FFFFFFFFFC000000190",  # company prefix beyond 7 digits
    ],
)
def test_other_epcs_are_not_grai96(epc: str) -> None:
    assert decode_grai96(epc) is None
