from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smocast.core.ranges import RangeSet


def brute(ranges: list[tuple[int, int]]) -> set[int]:
    return {b for s, e in ranges for b in range(s, e)}


def test_add_merges_overlapping_and_adjacent() -> None:
    r = RangeSet()
    assert r.add(10, 20) == 10
    assert r.add(30, 40) == 10
    assert r.add(20, 30) == 10  # fills the gap exactly: one range now
    assert list(r) == [(10, 40)]
    assert r.add(15, 35) == 0
    assert r.total == 30


def test_discard_below_trims_partially() -> None:
    r = RangeSet()
    r.add(0, 10)
    r.add(20, 30)
    r.discard_below(25)
    assert list(r) == [(25, 30)]
    assert r.total == 5


def test_gaps_and_bytes_above() -> None:
    r = RangeSet()
    r.add(10, 20)
    r.add(30, 40)
    assert list(r.gaps(0, 50)) == [(0, 10), (20, 30), (40, 50)]
    assert list(r.gaps(12, 18)) == []
    assert r.bytes_above(15) == 15
    assert r.bytes_above(25) == 10
    assert r.bytes_above(45) == 0


def test_blocks_newest_first_limits() -> None:
    r = RangeSet()
    for start in range(0, 100, 10):
        r.add(start, start + 5)
    assert r.blocks_newest_first(3) == [(90, 95), (80, 85), (70, 75)]


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)), max_size=25), st.integers(0, 230))
def test_matches_a_set_of_bytes(pieces: list[tuple[int, int]], cut: int) -> None:
    r = RangeSet()
    model: set[int] = set()
    for start, length in pieces:
        added = r.add(start, start + length)
        new = set(range(start, start + length)) - model
        assert added == len(new)
        model |= new
    assert brute(list(r)) == model
    assert r.total == len(model)
    starts = [s for s, _ in r]
    ends = [e for _, e in r]
    assert all(ends[i] < starts[i + 1] for i in range(len(starts) - 1))  # disjoint and not adjacent
    assert r.bytes_above(cut) == len([b for b in model if b >= cut])
    gaps = brute(list(r.gaps(0, 230)))
    assert gaps == set(range(230)) - model
    r.discard_below(cut)
    assert brute(list(r)) == {b for b in model if b >= cut}


@given(
    st.lists(st.tuples(st.integers(0, 200), st.integers(1, 30)), max_size=15), st.integers(0, 150), st.integers(1, 100)
)
def test_gaps_with_bytes_above_matches_brute_force(pieces: list[tuple[int, int]], start: int, span: int) -> None:
    r = RangeSet()
    for s, n in pieces:
        r.add(s, s + n)
    model = brute(list(r))
    got = list(r.gaps_with_bytes_above(start, start + span))
    assert [(a, b) for a, b, _ in got] == list(r.gaps(start, start + span))
    for a, _, above in got:
        assert above == len([x for x in model if x >= a])
