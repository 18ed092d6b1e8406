"""The register codec against known register images, for every type and order."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from config.floor import PointType, WordOrder
from edge.register_codec import CodecError, decode, encode

ORDERS: list[WordOrder] = ["ABCD", "CDAB", "BADC", "DCBA"]


@pytest.mark.parametrize(
    ("order", "registers"),
    [("ABCD", [0x1122, 0x3344]), ("CDAB", [0x3344, 0x1122]), ("BADC", [0x2211, 0x4433]), ("DCBA", [0x4433, 0x2211])],
)
def test_uint32_in_every_order(order: WordOrder, registers: list[int]) -> None:
    assert decode(registers, "uint32", order) == 0x11223344
    assert encode(0x11223344, "uint32", order) == registers


@pytest.mark.parametrize(
    ("order", "registers"),
    [
        ("ABCD", [0x0102, 0x0304, 0x0506, 0x0708]),
        ("CDAB", [0x0708, 0x0506, 0x0304, 0x0102]),
        ("BADC", [0x0201, 0x0403, 0x0605, 0x0807]),
        ("DCBA", [0x0807, 0x0605, 0x0403, 0x0201]),
    ],
)
def test_uint64_in_every_order(order: WordOrder, registers: list[int]) -> None:
    assert decode(registers, "uint64", order) == 0x0102030405060708


def test_float32_known_images() -> None:
    # 123.456 as IEEE 754 single is 0x42F6E979.
    assert decode([0x42F6, 0xE979], "float32") == pytest.approx(123.456, rel=1e-6)
    assert decode([0xE979, 0x42F6], "float32", "CDAB") == pytest.approx(123.456, rel=1e-6)


def test_signed_types() -> None:
    assert decode([0xFFFF], "int16") == -1
    assert decode([0xFFFF], "uint16") == 65535
    assert decode([0xFFFF, 0xFFFE], "int32") == -2
    assert decode([0x3412], "uint16", "BADC") == 0x1234


def test_wrong_register_count_and_overflow_are_codec_errors() -> None:
    with pytest.raises(CodecError, match="needs 2 registers"):
        decode([1], "uint32")
    with pytest.raises(CodecError, match=r"outside 0\.\.65535"):
        decode([70000], "uint16")
    with pytest.raises(CodecError, match="does not fit"):
        encode(70000, "uint16")


NUMBER_TYPES: list[PointType] = ["uint16", "int16", "uint32", "int32", "uint64", "float32", "float64"]


@given(st.sampled_from(NUMBER_TYPES), st.sampled_from(ORDERS), st.data())
def test_round_trip(type_: PointType, order: WordOrder, data: st.DataObject) -> None:
    if type_.startswith("float"):
        width = 32 if type_ == "float32" else 64
        value: float = data.draw(st.floats(allow_nan=False, allow_infinity=False, width=width))
    else:
        bits = int(type_.removeprefix("u").removeprefix("int"))
        low, high = (0, (1 << bits) - 1) if type_.startswith("u") else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        value = data.draw(st.integers(low, high))
    registers = encode(value, type_, order)
    assert all(0 <= r <= 0xFFFF for r in registers)
    decoded = decode(registers, type_, order)
    assert decoded == value or (math.isclose(decoded, value) if isinstance(value, float) else False)
