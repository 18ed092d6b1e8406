"""The Andon colour of a station, from its WIP state, its bins and its operator's material call.

Precedence, highest first:
- red: the WIP limit is reached, or a bin of the station is empty (stockout): the line is about to stop.
- blue: the operator called for material: someone must go to the station now.
- yellow: the WIP warning level is reached, or a kanban card of the station's bins is open: watch.
- green: nothing of the above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Colour = Literal["green", "yellow", "red", "blue"]
WipState = Literal["normal", "warning", "limit"]


@dataclass(frozen=True, slots=True)
class AndonInputs:
    """What decides a station's colour."""

    wip: WipState = "normal"
    open_calls: int = 0
    stockout: bool = False
    material_call: bool = False


def andon_colour(inputs: AndonInputs) -> Colour:
    """The colour the station's light shows."""
    if inputs.wip == "limit" or inputs.stockout:
        return "red"
    if inputs.material_call:
        return "blue"
    if inputs.wip == "warning" or inputs.open_calls > 0:
        return "yellow"
    return "green"
