"""The read planner merges touching points of one table, never reads gaps, respects request limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from config.floor import REGISTERS, Point
from edge.read_plan import MAX_REGISTERS, plan_reads


def point(name: str, address: int, type_: str = "uint16", table: str = "holding") -> Point:
    return Point.model_validate({"name": name, "address": address, "type": type_, "table": table})


def test_adjacent_points_share_a_request() -> None:
    plan = plan_reads([point("b", 2, "uint32"), point("a", 0, "uint32"), point("c", 4)])
    assert [(r.table, r.address, r.count) for r in plan] == [("holding", 0, 5)]
    assert [p.name for p in plan[0].points] == ["a", "b", "c"]
    assert plan[0].slice_of(plan[0].points[1]) == slice(2, 4)
    assert plan[0].describe() == "holding 0..4 (a, b, c)"


def test_gaps_and_tables_split_requests() -> None:
    plan = plan_reads([
        point("a", 0), point("b", 2), point("t", 0, "int16", "input"),
        point("run", 5, "bool", "coil"), point("jam", 6, "bool", "coil"),
    ])
    assert [(r.table, r.address, r.count) for r in plan] == [
        ("coil", 5, 2), ("holding", 0, 1), ("holding", 2, 1), ("input", 0, 1),
    ]


def test_overlapping_points_read_once() -> None:
    plan = plan_reads([point("whole", 10, "uint32"), point("high", 10), point("low", 11)])
    assert [(r.address, r.count, len(r.points)) for r in plan] == [(10, 2, 3)]


def test_request_size_is_capped() -> None:
    plan = plan_reads([point(f"p{i}", i * 2, "uint32") for i in range(100)])
    assert [r.count for r in plan] == [124, 76]


@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["uint16", "uint32", "uint64"])), max_size=60))
def test_every_point_is_covered_and_no_unmapped_register_is_read(raw: list[tuple[int, str]]) -> None:
    points = [point(f"p{i}", address, type_) for i, (address, type_) in enumerate(raw)]
    plan = plan_reads(points)
    mapped = {a for p in points for a in range(p.address, p.address + REGISTERS[p.type])}
    read = [a for r in plan for a in range(r.address, r.address + r.count)]
    assert set(read) == mapped
    assert len(read) == len(set(read))
    assert all(r.count <= MAX_REGISTERS for r in plan)
    assert sorted(p.name for r in plan for p in r.points) == sorted(p.name for p in points)
    for r in plan:
        for p in r.points:
            assert r.address <= p.address
            assert p.address + REGISTERS[p.type] <= r.address + r.count
