"""Modbus register codec: 16-bit registers ↔ typed values, for every word and byte order. Pure.

`A` is the most significant byte. On the wire a value of 0x11223344 is sent as registers
`0x1122 0x3344` (ABCD), `0x3344 0x1122` (CDAB, word swap), `0x2211 0x4433` (BADC, byte swap) or
`0x4433 0x2211` (DCBA). The same rule extends to four-register types.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from config.floor import REGISTERS, PointType, WordOrder

_FORMAT = {"uint16": ">H", "int16": ">h", "uint32": ">I", "int32": ">i", "uint64": ">Q", "float32": ">f",
           "float64": ">d"}


class CodecError(ValueError):
    """The registers cannot hold a value of this type."""


def _reorder(data: bytes, order: WordOrder) -> bytes:
    """Between wire order and big-endian (ABCD); its own inverse."""
    if order in ("BADC", "DCBA"):
        data = b"".join(data[i + 1:i + 2] + data[i:i + 1] for i in range(0, len(data), 2))
    if order in ("CDAB", "DCBA"):
        data = b"".join(data[i:i + 2] for i in range(len(data) - 2, -1, -2))
    return data


def decode(registers: Sequence[int], type_: PointType, order: WordOrder = "ABCD") -> int | float:
    """The value of type `type_` held in `registers` (exactly as many as the type needs)."""
    if type_ == "bool" or len(registers) != REGISTERS[type_]:
        raise CodecError(f"{type_} needs {REGISTERS.get(type_, 0)} registers, got {len(registers)}")
    try:
        wire = b"".join(r.to_bytes(2, "big") for r in registers)
    except OverflowError as exc:
        raise CodecError(f"a register value is outside 0..65535: {list(registers)}") from exc
    value: int | float = struct.unpack(_FORMAT[type_], _reorder(wire, order))[0]
    return value


def encode(value: float, type_: PointType, order: WordOrder = "ABCD") -> list[int]:
    """The registers that hold `value` as `type_`."""
    if type_ == "bool":
        raise CodecError("a bool is a coil, not registers")
    number = value if type_.startswith("float") else int(value)
    try:
        data = _reorder(struct.pack(_FORMAT[type_], number), order)
    except struct.error as exc:
        raise CodecError(f"{value!r} does not fit in {type_}") from exc
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
