"""The `rfid:` section of the plant file: readers and their roles, tags and container types that stand for cards."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import Field, field_validator

from config.base import Ident, Section

ReaderRole = Literal["kanban_post", "receiving"]


class RfidReader(Section):
    """A reader publishing on `<prefix>/rfid/<id>`: at a kanban post (reads release cards) or at a receiving
    dock (reads receive them)."""

    id: Ident
    role: ReaderRole
    loops: list[Ident] = []  # tags mapped by GTIN count only for these loops; empty: every loop of the sku


class RfidTag(Section):
    """A tag that is one card of one loop."""

    epc: str = Field(pattern=r"^[0-9A-Fa-f]{4,124}$")
    loop: Ident
    card: int = Field(ge=1)

    @field_validator("epc")
    @classmethod
    def _upper(cls, value: str) -> str:
        if len(value) % 2:
            raise ValueError("an EPC has an even number of hex digits")
        return value.upper()


class RfidAssetType(Section):
    """A type of returnable container (GRAI-96 tags): any container of the type stands for a card of its loop."""

    grai: str = Field(pattern=r"^0\d{13}$")  # the GRAI without serial: 0, company prefix, asset type, check digit
    loops: list[Ident] = Field(min_length=1)  # a reader's `loops` narrows the choice when several are listed

    @field_validator("grai")
    @classmethod
    def _checked(cls, value: str) -> str:
        if check_digit(value[:-1]) != int(value[-1]):
            raise ValueError(f"check digit of GRAI {value} should be {check_digit(value[:-1])}")
        return value


class RfidConfig(Section):
    """RFID readers and tags. Tags not listed count by the GTIN of their SGTIN-96 (items' `gtin`) or by the
    asset type of their GRAI-96 (`asset_types`)."""

    dedup_window_s: float = Field(default=5.0, ge=0, le=3600)
    readers: list[RfidReader] = []
    tags: list[RfidTag] = []
    asset_types: list[RfidAssetType] = []


def check_digit(digits: str) -> int:
    """GS1 mod-10 check digit of a digit string (weights 3, 1, 3, ... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def rfid_problems(
    rfid: RfidConfig, cards_by_loop: dict[str, int], receive_by_scale: dict[str, bool]
) -> list[tuple[tuple[str | int, ...], str]]:
    """References and duplicates: tags and readers name configured loops, a tag's card exists; a loop whose
    cards a receiving dock reads is not also received by its scale (one container would receive two cards)."""
    problems = _duplicates("readers", "id", ((i, r.id) for i, r in enumerate(rfid.readers)))
    problems += _duplicates("tags", "epc", ((i, t.epc) for i, t in enumerate(rfid.tags)))
    problems += _duplicates("asset_types", "grai", ((i, a.grai) for i, a in enumerate(rfid.asset_types)))
    for i, tag in enumerate(rfid.tags):
        if tag.loop not in cards_by_loop:
            problems.append((("rfid", "tags", i, "loop"), f"unknown loop {tag.loop!r} (not in bins)"))
        elif tag.card > cards_by_loop[tag.loop]:
            problems.append((("rfid", "tags", i, "card"), f"loop {tag.loop} has {cards_by_loop[tag.loop]} cards"))
    for i, reader in enumerate(rfid.readers):
        problems += [
            (("rfid", "readers", i, "loops"), f"unknown loop {loop!r} (not in bins)")
            for loop in reader.loops if loop not in cards_by_loop
        ]
    for i, asset_type in enumerate(rfid.asset_types):
        problems += [
            (("rfid", "asset_types", i, "loops"), f"unknown loop {loop!r} (not in bins)")
            for loop in asset_type.loops if loop not in cards_by_loop
        ]
    if any(r.role == "receiving" for r in rfid.readers):
        received_at_dock: dict[str, tuple[str | int, ...]] = {}
        for i, tag in enumerate(rfid.tags):
            received_at_dock.setdefault(tag.loop, ("tags", i, "loop"))
        for i, asset_type in enumerate(rfid.asset_types):
            for loop in asset_type.loops:
                received_at_dock.setdefault(loop, ("asset_types", i, "loops"))
        for i, reader in enumerate(rfid.readers):
            for loop in reader.loops if reader.role == "receiving" else ():
                received_at_dock.setdefault(loop, ("readers", i, "loops"))
        problems += [
            (("rfid", *where), f"loop {loop} is received at an RFID dock and by its scale, so one container would "
                               f"receive two cards: set receive_by_scale: false on bin {loop}")
            for loop, where in received_at_dock.items() if receive_by_scale.get(loop, False)
        ]
    return problems


def _duplicates(section: str, field: str, ids: Iterable[tuple[int, str]]) -> list[tuple[tuple[str | int, ...], str]]:
    seen: set[str] = set()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, ident in ids:
        if ident in seen:
            problems.append((("rfid", section, index, field), f"duplicate {field} {ident!r}"))
        seen.add(ident)
    return problems
