"""What the service runs: the plant file's settings, and of its bins only one `BinSpec` each.

A validated `Bin` (with its scale and debounce settings) takes about 300 bytes besides the `BinSpec` the rules
need anyway, which with 50,000 loops is 15 MB the service never reads once it is built. `Plant.of` keeps the
records and leaves the bins to be freed. `kanban-edge run` gets its plant from a child process
(`gateway.load_ahead`), so the bins never exist in the service's process at all.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, fields
from itertools import repeat
from operator import attrgetter
from typing import Any, TypeAlias

from config.plant import PlantConfig
from rules.scale_bin import BinSpec

_FIELDS = tuple(f.name for f in fields(BinSpec))


@dataclass(frozen=True, slots=True)
class Plant:
    """A plant's settings without its bins (`config.bins` is empty), and one record per bin, in file order."""

    config: PlantConfig
    loops: list[BinSpec]

    @classmethod
    def of(cls, config: PlantConfig) -> Plant:
        """The plant of a validated plant file."""
        return cls(config.model_copy(update={"bins": []}), config.bin_specs())

    def __reduce__(self) -> tuple[Any, ...]:
        # By columns, each as its distinct values and where each loop's value is among them: pickle shares no
        # float or int, so one object per loop would come back with a new float for every setting of every
        # loop (11 MB with 50,000 loops). Columns of unique values (the bin ids) go as they are.
        columns = zip(*map(_ROW, self.loops), strict=True) if self.loops else iter(((),) * len(_FIELDS))
        return _from_columns, (self.config, tuple(map(_encode, columns)))


_ROW = attrgetter(*_FIELDS)
Column: TypeAlias = "tuple[list[Any], array[int] | None]"


def _encode(column: tuple[Any, ...]) -> Column:
    # A column holds values of one type (and None): equal values are interchangeable.
    values = list(dict.fromkeys(column))
    if len(values) == len(column):
        return values, None
    if len(values) == 1:
        return values, array("I", bytes(4 * len(column)))
    position = {value: i for i, value in enumerate(values)}
    return values, array("I", map(position.__getitem__, column))


def _decode(column: Column) -> Iterator[Any]:
    # An iterator, not a list: 22 lists of 50,000 would be 9 MB more at the peak of start-up.
    values, at = column
    if at is None:
        return iter(values)
    return repeat(values[0], len(at)) if len(values) == 1 else map(values.__getitem__, at)


def _from_columns(config: PlantConfig, columns: tuple[Column, ...]) -> Plant:
    return Plant(config, list(map(BinSpec, *map(_decode, columns))))
