"""EPC codec, pure: SGTIN-96 (GS1 EPC Tag Data Standard) to company prefix, item reference, serial, GTIN-14.

Any other EPC is kept as its hex string by the caller; `decode_sgtin96` returns None for it.
"""

from __future__ import annotations

from dataclasses import dataclass

SGTIN96_HEADER = 0x30

# Partition value → (company prefix bits, digits, item reference bits, digits): TDS table "SGTIN Partition Table".
_PARTITIONS = {
    0: (40, 12, 4, 1),
    1: (37, 11, 7, 2),
    2: (34, 10, 10, 3),
    3: (30, 9, 14, 4),
    4: (27, 8, 17, 5),
    5: (24, 7, 20, 6),
    6: (20, 6, 24, 7),
}


@dataclass(frozen=True, slots=True)
class Sgtin:
    """A decoded SGTIN-96."""

    filter: int
    company_prefix: str
    item_reference: str  # with its leading indicator digit, as the TDS writes it
    serial: int

    @property
    def gtin(self) -> str:
        """GTIN-14: indicator digit, company prefix, rest of the item reference, check digit."""
        body = self.item_reference[0] + self.company_prefix + self.item_reference[1:]
        return body + str(check_digit(body))

    @property
    def urn(self) -> str:
        """The pure-identity URI, e.g. urn:epc:id:sgtin:0614141.812345.6789."""
        return f"urn:epc:id:sgtin:{self.company_prefix}.{self.item_reference}.{self.serial}"


def check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of a digit string (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def decode_sgtin96(epc_hex: str) -> Sgtin | None:
    """Decode a 96-bit EPC in hex as SGTIN-96; None when it is another scheme or not valid SGTIN-96."""
    if len(epc_hex) != 24:
        return None
    try:
        value = int(epc_hex, 16)
    except ValueError:
        return None
    if value >> 88 != SGTIN96_HEADER:
        return None
    filter_value = (value >> 85) & 0b111
    partition = (value >> 82) & 0b111
    if partition not in _PARTITIONS:
        return None
    prefix_bits, prefix_digits, item_bits, item_digits = _PARTITIONS[partition]
    prefix = (value >> (38 + item_bits)) & ((1 << prefix_bits) - 1)
    item = (value >> 38) & ((1 << item_bits) - 1)
    if prefix >= 10**prefix_digits or item >= 10**item_digits:
        return None
    return Sgtin(
        filter=filter_value, company_prefix=str(prefix).zfill(prefix_digits),
        item_reference=str(item).zfill(item_digits), serial=value & ((1 << 38) - 1),
    )
