"""Plain counters compare, print and refuse hashing as the mutable dataclasses they replaced did."""

from __future__ import annotations

import pytest

from smocast.secure.stats import ProtectionStats
from smocast.smo.delivery import ReceiverStats


def test_counters_are_equal_when_every_counter_is() -> None:
    a, b = ReceiverStats(), ReceiverStats()
    assert a == b
    b.challenge_acks += 1  # the last counter: every one is compared
    assert a != b
    a.challenge_acks += 1
    assert a == b


def test_counters_of_another_class_are_never_equal() -> None:
    assert ReceiverStats() != ProtectionStats()
    assert ReceiverStats() != 0


def test_counters_are_not_hashable_and_print_their_values() -> None:
    stats = ProtectionStats()
    stats.forged = 2
    with pytest.raises(TypeError):
        hash(stats)
    assert "forged=2" in repr(stats) and repr(stats).startswith("ProtectionStats(")
    assert stats.as_json()["forged"] == 2 and stats.as_json()["dropped"] == 2
    assert list(stats.as_json())[:2] == ["sealed", "opened"]  # the report keeps its order
