"""A live stream through a chain of relays: the delay each level adds, and head-of-line waiting."""

from __future__ import annotations

import statistics

import pytest

from smocast.sim.relay_chain import ChainSpec, run_chain


def test_without_loss_each_level_adds_its_hop_and_nothing_waits() -> None:
    report = run_chain(ChainSpec(levels=3, leaves=2, messages=100, delay=0.01))
    means = [statistics.fmean(level["latency_s"]) for level in report["levels"]]
    for i, mean in enumerate(means, start=1):
        assert mean == pytest.approx(i * 0.01, abs=0.001 * i)  # 10 ms per hop, plus serialisation
    assert all(max(level["head_of_line_s"]) == 0 for level in report["levels"])
    assert len(report["leaf_latency_s"]) == 2 * 100


def test_loss_makes_segments_wait_behind_holes_at_the_relays() -> None:
    report = run_chain(ChainSpec(levels=2, leaves=1, messages=300, delay=0.01, loss=0.05))
    assert all(len(level["latency_s"]) == 300 for level in report["levels"])  # reliable: every message
    waits = [w for level in report["levels"] for w in level["head_of_line_s"]]
    assert max(waits) > 0.01  # some arrived segment waited for an earlier one's repair
    assert statistics.fmean(waits) < 0.01
