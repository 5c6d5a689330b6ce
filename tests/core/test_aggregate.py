from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smocast.core.aggregate import CountedMin


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 50)), max_size=200))
def test_minimum_matches_a_multiset(ops: list[tuple[bool, int]]) -> None:
    agg = CountedMin()
    model: list[int] = []
    for add, key in ops:
        if add or not model:
            agg.add(key)
            model.append(key)
        else:
            victim = model[key % len(model)]
            model.remove(victim)
            agg.remove(victim)
        assert agg.minimum() == (min(model) if model else None)
        assert agg.size == len(model)


def test_replace_moves_a_member() -> None:
    agg = CountedMin()
    agg.add(5)
    agg.add(9)
    agg.replace(5, 12)
    assert agg.minimum() == 9
