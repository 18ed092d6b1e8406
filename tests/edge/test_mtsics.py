"""MT-SICS replies as recorded from Mettler Toledo scales: weights, units and every condition."""

from __future__ import annotations

import pytest

from edge.mtsics import Condition, Weight, parse_reply


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"S S     100.00 g\r\n", Weight(100.0, stable=True)),
        (b"S D     100.02 g\r\n", Weight(100.02, stable=False)),
        (b"S S      -0.35 g\r\n", Weight(-0.35, stable=True)),
        (b"S S    12.3456 kg\r\n", Weight(12345.6, stable=True)),
        (b"S D       3.50 lb", Weight(3.5 * 453.59237, stable=False)),
        (b"S S     250.0 mg\r\n", Weight(0.25, stable=True)),
    ],
)
def test_weights(line: bytes, expected: Weight) -> None:
    weight = parse_reply(line)
    assert isinstance(weight, Weight)
    assert weight.grams == pytest.approx(expected.grams)
    assert weight.stable is expected.stable


@pytest.mark.parametrize(
    ("line", "state"),
    [
        (b"S I\r\n", "busy"),
        (b"S +\r\n", "overload"),
        (b"S -\r\n", "underload"),
        (b"ES\r\n", "syntax_error"),
        (b"ET\r\n", "transmission_error"),
        (b"EL\r\n", "logical_error"),
        (b"S S     100.00 furlong\r\n", "unrecognised"),
        (b"S S     1O0.00 g\r\n", "unrecognised"),
        (b"\xff\xfe\r\n", "unrecognised"),
        (b"", "unrecognised"),
    ],
)
def test_conditions_are_states_not_crashes(line: bytes, state: str) -> None:
    reply = parse_reply(line)
    assert isinstance(reply, Condition)
    assert reply.state == state
    assert reply.detail
