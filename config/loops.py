"""Suppliers, items and the kanban loops (`bins:`) of the plant file."""

from __future__ import annotations

import math

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as validated_dataclass

from config.base import Ident, Section
from config.connectors import WebhookConfig
from rules.limits import MAX_COUNT

# A plant has one of these per loop, tens of thousands of them: slotted dataclasses take ~0.3 kB a loop where
# models (a `__dict__`, a fields-set and nested models each) took 1.7 kB. Validation and errors are the same.
_per_loop = validated_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid", allow_inf_nan=False))


MAX_WEIGHT_G = 1e9
"""The heaviest weight a plant file may give (a tonne): far beyond any bin, and weights stay exact in floats."""
MAX_CARDS = 100
MAX_CAPACITY = MAX_COUNT // 2
"""A bin's pieces: a reading may go 20 % over capacity before it is refused, and pieces stay within MAX_COUNT."""
MAX_CONTAINER = MAX_CAPACITY // MAX_CARDS
"""A container's pieces: a full loop of `MAX_CARDS` containers stays within a bin's capacity."""


class Supplier(Section):
    """Who replenishes."""

    id: Ident
    name: str
    lead_time_h: float = Field(ge=0)
    webhook: WebhookConfig | None = None


class Item(Section):
    """A part number."""

    sku: Ident
    description: str = ""
    unit_weight_g: float = Field(gt=0, le=MAX_WEIGHT_G, allow_inf_nan=False)
    supplier: Ident | None = None
    gtin: str | None = Field(default=None, pattern=r"^(\d{8}|\d{12,14})$")  # RFID tags count by it

    @property
    def gtin14(self) -> str | None:
        """The GTIN padded to 14 digits, as SGTIN-96 tags decode."""
        return self.gtin.zfill(14) if self.gtin else None


@_per_loop
class ScaleConfig:
    """The scale under a bin."""

    tare_g: float = Field(default=0.0, ge=0, le=MAX_WEIGHT_G, allow_inf_nan=False)
    topic: str | None = Field(default=None, min_length=1, pattern=r"^[^+#]+$")
    zero_tolerance_g: float = Field(default=50.0, ge=0, le=MAX_WEIGHT_G, allow_inf_nan=False)


@_per_loop
class Debounce:
    """How long a level must stay past a threshold: both conditions must hold."""

    readings: int = Field(default=2, ge=1, le=1000)
    seconds: float = Field(default=0.0, ge=0, le=3600)


@_per_loop
class Bin:
    """A kanban loop at a point of use, watched by a scale: `cards` containers of `container_qty` pieces."""

    id: Ident
    sku: Ident
    line: Ident
    station: Ident
    container_qty: int = Field(gt=0, le=MAX_CONTAINER)
    cards: int = Field(default=1, ge=1, le=MAX_CARDS)
    reorder_point: int = Field(ge=0, le=MAX_CAPACITY)
    reset_point: int | None = Field(default=None, ge=0, le=MAX_CAPACITY)
    capacity_pieces: int | None = Field(default=None, gt=0, le=MAX_CAPACITY)
    scale: ScaleConfig = ScaleConfig()
    debounce: Debounce = Debounce()
    stale_after_s: float = Field(default=300.0, gt=0, le=7 * 86400)
    safety_stock: int = Field(default=0, ge=0, le=MAX_CAPACITY)
    receive_by_scale: bool = True
    receive_tolerance: float = Field(default=0.25, gt=0, lt=0.5)
    predictive_margin_h: float | None = Field(default=None, ge=0)  # set: release early (docs/ANALYTICS.md)

    @property
    def capacity(self) -> int:
        """Pieces in a full bin: as configured, else cards × container quantity."""
        return self.capacity_pieces or self.cards * self.container_qty

    @property
    def reset(self) -> int:
        """Level above which the bin re-arms: as configured, else half a container above the reorder point."""
        if self.reset_point is not None:
            return self.reset_point
        return min(self.reorder_point + math.ceil(self.container_qty / 2), self.capacity - 1)

