from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.smo.reassembly import MAX_HELD_RANGES, MAX_MARKS, PIECE_MERGE_LIMIT, Reassembly


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 60), st.integers(0, 3), st.booleans())
def test_any_arrival_order_delivers_each_byte_once(seed: int, count: int, dups: int, resegment: bool) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(count * 10)
    pieces = [(i * 10, data[i * 10 : (i + 1) * 10]) for i in range(count)]
    if resegment:  # overlapping pieces of different sizes, as repairs cut differently might be
        for _ in range(count):
            a = rng.randrange(len(data))
            b = min(len(data), a + rng.randrange(1, 40))
            pieces.append((a, data[a:b]))
    pieces += [rng.choice(pieces) for _ in range(dups * count)]
    rng.shuffle(pieces)
    reasm = Reassembly(0, capacity=1 << 20)
    out = bytearray()
    for seq, payload in pieces:
        for chunk in reasm.offer(seq, payload):
            out += chunk
        assert reasm.stored_bytes == reasm.held_bytes  # every held byte stored once
    assert bytes(out) == data
    assert reasm.rcv_nxt == len(data)
    assert reasm.held_bytes == 0 and reasm.pieces == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31), st.integers(20, 400), st.integers(1, 2000))
def test_overlaps_are_stored_once_in_few_pieces(seed: int, count: int, longest: int) -> None:
    """Segments of any length at any offset, the first bytes last: whatever is held is
    stored once, in pieces that together with a neighbour exceed half the merge limit."""
    rng = random.Random(seed)
    data = rng.randbytes(4 * PIECE_MERGE_LIMIT)
    reasm = Reassembly(0, capacity=1 << 20)
    for _ in range(count):
        a = rng.randrange(1, len(data))
        b = min(len(data), a + rng.randrange(1, longest + 1))
        assert reasm.offer(a, data[a:b]) == []
        assert reasm.stored_bytes == reasm.held_bytes
    pieces_bound = 2 * reasm.held_bytes // PIECE_MERGE_LIMIT + 2 * len(reasm.ranges)
    assert reasm.pieces <= pieces_bound
    out = b"".join(reasm.offer(0, data[:1]) + reasm.offer(0, data))
    assert out == data and reasm.pieces == 0


def test_one_new_byte_per_overlapping_segment_grows_one_piece() -> None:
    data = bytes(range(256)) * 40
    reasm = Reassembly(0, capacity=1 << 20)
    for k in range(1, len(data) - 1399):
        reasm.offer(k, data[k : k + 1400])
    assert reasm.held_bytes == len(data) - 1
    assert reasm.pieces <= 2 * len(data) // PIECE_MERGE_LIMIT + 1
    assert b"".join(reasm.offer(0, data[:1])) == data


def test_separate_ranges_are_bounded_and_their_neighbours_still_accepted() -> None:
    reasm = Reassembly(0, capacity=1 << 20)
    for k in range(MAX_HELD_RANGES + 10):  # one byte every other byte: a range each
        reasm.offer(2 + 2 * k, b"x")
    assert len(reasm.ranges) == MAX_HELD_RANGES and reasm.refused == 10
    reasm.offer(3, b"y")  # joins two held ranges: accepted
    assert len(reasm.ranges) == MAX_HELD_RANGES - 1 and reasm.held_bytes == MAX_HELD_RANGES + 1


def test_playout_marks_are_kept_for_new_starts_and_bounded() -> None:
    reasm = Reassembly(0, capacity=1 << 20)
    reasm.offer(10, b"a" * 10, mark=1.0)
    reasm.offer(15, b"a" * 10, mark=2.0)  # its first byte is held already: no mark
    assert reasm.marks == {10: 1.0}
    for k in range(MAX_MARKS + 5):
        reasm.offer(100 + k, b"b", mark=3.0)
    assert len(reasm.marks) == MAX_MARKS
    reasm.offer(0, b"c" * 10)
    assert 10 not in reasm.marks


def test_capacity_bounds_what_is_held() -> None:
    reasm = Reassembly(0, capacity=25)
    reasm.offer(10, b"x" * 10)
    reasm.offer(20, b"y" * 10)
    reasm.offer(30, b"z" * 10)  # would exceed the capacity: dropped
    assert reasm.held_bytes == 20
    assert b"".join(reasm.offer(0, b"w" * 10)) == b"w" * 10 + b"x" * 10 + b"y" * 10


def test_skip_gives_up_a_hole_and_delivers_what_follows() -> None:
    reasm = Reassembly(0, capacity=1000)
    reasm.offer(20, b"b" * 10)
    assert reasm.skip_to(20) == [b"b" * 10]
    assert reasm.rcv_nxt == 30
    assert reasm.offer(0, b"a" * 20) == []  # late data below the skip point is ignored
