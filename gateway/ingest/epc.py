"""EPC codec, pure: SGTIN-96 and GRAI-96 (GS1 EPC Tag Data Standard) to their GS1 keys.

SGTIN-96 (header 0x30) identifies a trade item: GTIN-14 and serial. GRAI-96 (header 0x33) identifies a
returnable asset, such as a reusable container: company prefix, asset type and serial; its GRAI without the
serial (14 digits, as in AI (8003)) names the asset type. Any other EPC is kept as its hex string by the
caller; the decoders return None for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from config.rfid import check_digit

SGTIN96_HEADER = 0x30
GRAI96_HEADER = 0x33

# Partition value → (company prefix bits, digits, second field bits, digits): TDS tables "SGTIN Partition
# Table" and "GRAI Partition Table". The SGTIN's second field is the item reference with its indicator digit;
# the GRAI's is the asset type, with the same bits and one digit fewer.
_PARTITIONS = {
    0: (40, 12, 4, 1),
    1: (37, 11, 7, 2),
    2: (34, 10, 10, 3),
    3: (30, 9, 14, 4),
    4: (27, 8, 17, 5),
    5: (24, 7, 20, 6),
    6: (20, 6, 24, 7),
}
_SERIAL_BITS = 38


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


@dataclass(frozen=True, slots=True)
class Grai:
    """A decoded GRAI-96: one returnable asset."""

    filter: int
    company_prefix: str
    asset_type: str  # may be empty (a 12-digit company prefix leaves no digit for it)
    serial: int

    @property
    def asset_grai(self) -> str:
        """The GRAI without its serial, 14 digits: 0, company prefix, asset type, check digit (AI 8003)."""
        body = "0" + self.company_prefix + self.asset_type
        return body + str(check_digit(body))

    @property
    def urn(self) -> str:
        """The pure-identity URI, e.g. urn:epc:id:grai:0614141.12345.400."""
        return f"urn:epc:id:grai:{self.company_prefix}.{self.asset_type}.{self.serial}"


def decode_sgtin96(epc_hex: str) -> Sgtin | None:
    """Decode a 96-bit EPC in hex as SGTIN-96; None when it is another scheme or not valid SGTIN-96."""
    fields = _decode96(epc_hex, SGTIN96_HEADER, second_digits_less=0)
    if fields is None:
        return None
    filter_value, prefix, item, serial = fields
    return Sgtin(filter=filter_value, company_prefix=prefix, item_reference=item, serial=serial)


def decode_grai96(epc_hex: str) -> Grai | None:
    """Decode a 96-bit EPC in hex as GRAI-96; None when it is another scheme or not valid GRAI-96."""
    fields = _decode96(epc_hex, GRAI96_HEADER, second_digits_less=1)
    if fields is None:
        return None
    filter_value, prefix, asset_type, serial = fields
    return Grai(filter=filter_value, company_prefix=prefix, asset_type=asset_type, serial=serial)


def _decode96(epc_hex: str, header: int, *, second_digits_less: int) -> tuple[int, str, str, int] | None:
    """Header, filter, partition, company prefix, second field, 38-bit serial: the layout both schemes share."""
    if len(epc_hex) != 24:
        return None
    try:
        value = int(epc_hex, 16)
    except ValueError:
        return None
    if value >> 88 != header:
        return None
    partition = (value >> 82) & 0b111
    if partition not in _PARTITIONS:
        return None
    prefix_bits, prefix_digits, second_bits, second_digits = _PARTITIONS[partition]
    second_digits -= second_digits_less
    prefix = (value >> (_SERIAL_BITS + second_bits)) & ((1 << prefix_bits) - 1)
    second = (value >> _SERIAL_BITS) & ((1 << second_bits) - 1)
    if prefix >= 10**prefix_digits or second >= 10**second_digits:
        return None
    second_text = str(second).zfill(second_digits) if second_digits else ""
    return (value >> 85) & 0b111, str(prefix).zfill(prefix_digits), second_text, value & ((1 << _SERIAL_BITS) - 1)
