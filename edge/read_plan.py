"""Read planning: a PLC's points merged into as few Modbus requests as possible. Pure.

Points of one table whose registers touch or overlap are read with one request, up to the protocol's
limit per request (125 registers, 2000 coils or discrete inputs). Gaps are never read: a PLC may
answer an unmapped register with an exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from config.floor import REGISTERS, Point, Table

MAX_REGISTERS = 125
MAX_BITS = 2000


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One Modbus read: `count` registers (or bits) of `table` from `address`, holding `points`."""

    table: Table
    address: int
    count: int
    points: tuple[Point, ...]

    def slice_of(self, point: Point) -> slice:
        """Where a point's registers (or its bit) sit in this request's answer."""
        start = point.modbus_address - self.address
        return slice(start, start + REGISTERS[point.type])

    def describe(self) -> str:
        """The request as a person reads a register map, e.g. `holding 0..3 (good_parts, scrap)`."""
        names = ", ".join(p.name for p in self.points)
        return f"{self.table} {self.address}..{self.address + self.count - 1} ({names})"


def plan_reads(points: Iterable[Point]) -> list[ReadRequest]:
    """Requests covering every point, ordered by table and address."""
    requests: list[ReadRequest] = []
    ordered = sorted(points, key=lambda p: (p.table, p.modbus_address, -REGISTERS[p.type]))
    for point in ordered:
        end = point.modbus_address + REGISTERS[point.type]
        limit = MAX_BITS if point.table in ("coil", "discrete") else MAX_REGISTERS
        last = requests[-1] if requests else None
        if last is not None and last.table == point.table and point.modbus_address <= last.address + last.count:
            new_end = max(end, last.address + last.count)
            if new_end - last.address <= limit:
                requests[-1] = ReadRequest(last.table, last.address, new_end - last.address, (*last.points, point))
                continue
        requests.append(ReadRequest(point.table, point.modbus_address, end - point.modbus_address, (point,)))
    return requests
