"""MT-SICS (Mettler Toledo Standard Interface Command Set) weight replies, parsed. Pure.

`SI` (weigh immediately) and `S` (weigh when stable) answer `S S     100.00 g` (stable) or
`S D     100.02 g` (dynamic: still moving). The other answers are conditions, not errors of ours:
`S I` (cannot weigh now, e.g. while taring), `S +` (overload), `S -` (underload), `ES` (the scale did not
understand the command), `ET` (transmission error), `EL` (logical error).
"""

from __future__ import annotations

from dataclasses import dataclass

_GRAMS_PER_UNIT = {"g": 1.0, "kg": 1000.0, "mg": 0.001, "t": 1_000_000.0, "lb": 453.59237, "oz": 28.349523125,
                   "ct": 0.2}

_CONDITIONS = {
    "S I": ("busy", "the scale cannot weigh now (busy, e.g. taring)"),
    "S +": ("overload", "weight above the scale's range"),
    "S -": ("underload", "weight below the scale's range (pan removed?)"),
    "ES": ("syntax_error", "the scale did not recognise the command"),
    "ET": ("transmission_error", "the scale received a garbled command"),
    "EL": ("logical_error", "the scale cannot execute the command"),
}


@dataclass(frozen=True, slots=True)
class Weight:
    """A weight in grams; `stable` when the scale reported it settled."""

    grams: float
    stable: bool


@dataclass(frozen=True, slots=True)
class Condition:
    """A reply without a weight: what the scale says and what it means."""

    state: str
    detail: str


def parse_reply(line: bytes) -> Weight | Condition:
    """One reply line (CR LF optional) as a weight or a condition; never raises."""
    text = line.decode("ascii", errors="replace").strip()
    known = _CONDITIONS.get(" ".join(text.split()))
    if known is not None:
        return Condition(*known)
    parts = text.split()
    if len(parts) == 4 and parts[0] == "S" and parts[1] in ("S", "D"):
        per_unit = _GRAMS_PER_UNIT.get(parts[3])
        try:
            value = float(parts[2])
        except ValueError:
            per_unit = None
        if per_unit is not None:
            return Weight(grams=value * per_unit, stable=parts[1] == "S")
    return Condition("unrecognised", f"unexpected reply {text[:60]!r}")
