"""What the service runs: the plant file's settings, and of its bins only one `BinSpec` each.

A validated `Bin` (with its scale and debounce settings) takes about 300 bytes besides the `BinSpec` the rules
need anyway, which with 50,000 loops is 15 MB the service never reads once it is built. `Plant.of` keeps the
records and leaves the bins to be freed: when the caller lets the config go before building the service, the
service's per-loop state takes the memory the bins held.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config import PlantConfig
from rules.scale_bin import BinSpec


@dataclass(frozen=True, slots=True)
class Plant:
    """A plant's settings without its bins (`config.bins` is empty), and one record per bin, in file order."""

    config: PlantConfig
    loops: list[BinSpec]

    @classmethod
    def of(cls, config: PlantConfig) -> Plant:
        """The plant of a validated plant file."""
        return cls(config.model_copy(update={"bins": []}), config.bin_specs())
