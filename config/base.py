"""Building blocks shared by the sections of the plant file."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
"""Ids appear in MQTT topics and URLs: letters, digits and `_ . : -`, no `/`, `+` or `#`."""

Path_ = tuple[str | int, ...]
"""Where a value is in the plant file: keys and list indexes from the top."""


class Section(BaseModel):
    """A part of the plant file: unknown keys are errors, values are immutable, NaN and infinities refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
