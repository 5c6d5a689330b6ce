from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.smo.reassembly import Reassembly


@settings(max_examples=200)
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
    assert bytes(out) == data
    assert reasm.rcv_nxt == len(data)
    assert reasm.held_bytes == 0


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
