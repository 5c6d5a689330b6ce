"""``bench aggregate``: the counting structure and the scan must agree on every minimum."""

from __future__ import annotations

import pytest

from smocast.bench import aggregate


def test_both_methods_report_a_cost_for_every_group_size() -> None:
    result = aggregate.run([5, 50], acks=500, scan_acks=200, repeat=1)
    sizes = [row["receivers"] for row in result["results"]]
    assert sizes == [5, 50]
    for row in result["results"]:
        assert row["counted_ns_per_ack"] > 0
        assert row["scan_ns_per_ack"] > 0
    assert result["results"][0]["counted_ratio_to_smallest"] == 1.0


def test_every_receiver_acks_once_per_round() -> None:
    order = aggregate._rounds(4, 12, seed=3)
    for start in range(0, 12, 4):
        assert sorted(order[start : start + 4]) == [0, 1, 2, 3]


def test_a_wrong_minimum_is_refused() -> None:
    with pytest.raises(AssertionError, match="minimum"):
        aggregate._check(5, [1, 5, 9])
