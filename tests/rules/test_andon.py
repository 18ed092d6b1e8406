"""Andon colours and their precedence: red > blue > yellow > green."""

from __future__ import annotations

import itertools

import pytest

from rules.andon import AndonInputs, andon_colour


@pytest.mark.parametrize(
    ("inputs", "colour"),
    [
        (AndonInputs(), "green"),
        (AndonInputs(open_calls=1), "yellow"),
        (AndonInputs(wip="warning"), "yellow"),
        (AndonInputs(material_call=True), "blue"),
        (AndonInputs(material_call=True, open_calls=2, wip="warning"), "blue"),
        (AndonInputs(stockout=True), "red"),
        (AndonInputs(wip="limit"), "red"),
        (AndonInputs(wip="limit", material_call=True, open_calls=1), "red"),
        (AndonInputs(stockout=True, material_call=True), "red"),
    ],
)
def test_colours(inputs: AndonInputs, colour: str) -> None:
    assert andon_colour(inputs) == colour


def test_precedence_over_every_combination() -> None:
    rank = {"green": 0, "yellow": 1, "blue": 2, "red": 3}
    for wip, calls, stockout, material in itertools.product(("normal", "warning", "limit"), (0, 1), (False, True),
                                                            (False, True)):
        colour = andon_colour(AndonInputs(wip=wip, open_calls=calls, stockout=stockout, material_call=material))  # type: ignore[arg-type]
        reasons = {"red": wip == "limit" or stockout, "blue": material, "yellow": wip == "warning" or calls > 0,
                   "green": True}
        assert colour == max((c for c, held in reasons.items() if held), key=rank.__getitem__)
