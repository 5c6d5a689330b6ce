from __future__ import annotations

import pytest

from smocast.core.congestion import CONTROLLERS, NewReno, make_controller, register_controller
from smocast.core.errors import ConfigError

MSS = 1000


def test_initial_window_is_ten_segments() -> None:
    cc = make_controller("newreno", MSS, 1 << 20)
    assert cc.cwnd == 10 * MSS
    assert cc.in_slow_start


def test_slow_start_grows_by_acked_bytes_then_avoidance_by_one_mss_per_window() -> None:
    cc = NewReno(MSS, 10 * MSS, 1 << 20)
    cc.on_ack(4 * MSS, 0.0)
    assert cc.cwnd == 14 * MSS
    cc.ssthresh = cc.cwnd  # leave slow start
    for _ in range(13):
        cc.on_ack(MSS, 0.0)
    assert cc.cwnd == 14 * MSS
    cc.on_ack(MSS, 0.0)  # a full window acknowledged
    assert cc.cwnd == 15 * MSS


def test_loss_halves_and_timeout_collapses() -> None:
    cc = NewReno(MSS, 20 * MSS, 1 << 20)
    cc.on_congestion_event(0.0)
    assert cc.cwnd == cc.ssthresh == 10 * MSS
    assert not cc.in_slow_start
    cc.on_retransmission_timeout(0.0)
    assert cc.ssthresh == 5 * MSS
    assert cc.cwnd == MSS


def test_a_repeated_timeout_collapses_the_window_but_keeps_the_threshold() -> None:
    """The flight lost at the first timeout set the threshold; a timeout of its repair must not
    halve the one-segment window again, or slow start would end at two segments."""
    cc = NewReno(MSS, 20 * MSS, 1 << 20)
    cc.on_retransmission_timeout(0.0)
    assert (cc.cwnd, cc.ssthresh) == (MSS, 10 * MSS)
    cc.on_retransmission_timeout(1.0, repeated=True)
    assert (cc.cwnd, cc.ssthresh) == (MSS, 10 * MSS)
    cc.on_retransmission_timeout(2.0)
    assert cc.ssthresh == 2 * MSS  # a new episode: half the window, at least two segments


def test_ssthresh_floor_is_two_segments() -> None:
    cc = NewReno(MSS, 2 * MSS, 1 << 20)
    cc.on_congestion_event(0.0)
    assert cc.ssthresh == 2 * MSS


def test_no_growth_when_not_cwnd_limited() -> None:
    cc = NewReno(MSS, 10 * MSS, 1 << 20)
    cc.on_ack(5 * MSS, 0.0, cwnd_limited=False)
    assert cc.cwnd == 10 * MSS


def test_window_never_exceeds_maximum() -> None:
    cc = NewReno(MSS, 10 * MSS, 12 * MSS)
    cc.on_ack(50 * MSS, 0.0)
    assert cc.cwnd == 12 * MSS


def test_registry_plugs_in_and_rejects_unknown() -> None:
    class Constant(NewReno):
        name = "constant-test"

    register_controller("constant-test", Constant)
    try:
        assert isinstance(make_controller("constant-test", MSS, 1 << 20), Constant)
    finally:
        del CONTROLLERS["constant-test"]
    with pytest.raises(ConfigError, match="unknown congestion controller"):
        make_controller("cubic-nope", MSS, 1 << 20)


def test_fixed_window_ignores_loss() -> None:
    cc = make_controller("fixed", MSS, 64 * MSS)
    cc.on_congestion_event(0.0)
    cc.on_retransmission_timeout(0.0)
    assert cc.cwnd == 64 * MSS
