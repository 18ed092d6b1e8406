"""Which bins changed since the snapshot or the Andon refresh last looked: each once, in the order marked."""

from __future__ import annotations

from gateway.ingest.scale import BinMarks


def test_a_bin_marked_twice_is_taken_once_and_in_the_order_first_marked() -> None:
    marks = BinMarks(5)
    for number in [3, 1, 3, 4, 1]:
        marks.add(number)
    assert list(marks.take()) == [3, 1, 4]


def test_taking_unmarks_so_the_next_take_has_only_what_came_after() -> None:
    marks = BinMarks(3)
    marks.add(2)
    marks.take()
    assert list(marks.take()) == []
    marks.add(2)
    assert list(marks.take()) == [2]
