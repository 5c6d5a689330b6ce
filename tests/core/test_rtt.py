from __future__ import annotations

import pytest

from smocast.core.rtt import RtoSettings, RttEstimator


def test_first_sample_sets_srtt_and_rttvar() -> None:
    est = RttEstimator(RtoSettings(minimum=0.0))
    est.on_sample(0.1)
    assert est.srtt == pytest.approx(0.1)
    assert est.rttvar == pytest.approx(0.05)
    assert est.rto == pytest.approx(0.1 + 4 * 0.05)  # RFC 6298 (2.2)


def test_later_samples_follow_rfc6298_gains() -> None:
    est = RttEstimator(RtoSettings(minimum=0.0))
    est.on_sample(0.1)
    est.on_sample(0.2)
    assert est.rttvar == pytest.approx(0.75 * 0.05 + 0.25 * 0.1)
    assert est.srtt == pytest.approx(0.875 * 0.1 + 0.125 * 0.2)


def test_initial_rto_and_clamping() -> None:
    est = RttEstimator(RtoSettings(initial=1.0, minimum=0.2, maximum=60.0))
    assert est.rto == 1.0
    est.on_sample(0.001)
    assert est.rto == 0.2  # clamped to the minimum


def test_karns_rule_discards_ambiguous_samples_and_keeps_backoff() -> None:
    est = RttEstimator(RtoSettings(minimum=0.2))
    est.on_sample(0.05)
    base = est.rto
    est.back_off()
    est.back_off()
    assert est.rto == pytest.approx(base * 4)
    assert est.on_sample(0.01, covers_retransmission=True) is False
    assert est.rto == pytest.approx(base * 4)  # still backed off: the sample did not count
    assert est.on_sample(0.05) is True
    assert est.rto == pytest.approx(base)


def test_backoff_stops_at_maximum() -> None:
    est = RttEstimator(RtoSettings(initial=1.0, maximum=8.0))
    for _ in range(10):
        est.back_off()
    assert est.rto == 8.0
