from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smocast.core.aggregate import CountedMin, KeyedMin


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


@given(st.lists(st.tuples(st.sampled_from(["set", "move", "discard"]), st.integers(0, 9), st.integers(0, 40))))
def test_keyed_minimum_matches_a_dict(ops: list[tuple[str, int, int]]) -> None:
    agg = KeyedMin()
    model: dict[int, int] = {}
    for op, member, value in ops:
        if op == "set":
            agg.set(member, value)
            model[member] = value
        elif op == "move" and member in model:
            agg.move(member, model[member], value)
            model[member] = value
        elif op == "discard":
            agg.discard(member)
            model.pop(member, None)
        assert agg.minimum() == (min(model.values()) if model else None)
        assert agg.value_of == model and agg.size == len(model)
