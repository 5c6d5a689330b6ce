"""The loss filter: NewReno's response only for losses that come with a queue."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.aio.options import channel_config
from smocast.core.congestion import MIN_RTT_WINDOW, LossFilter, NewReno, make_controller
from smocast.core.delaytrack import STANDING_BUCKETS
from smocast.core.errors import ConfigError
from smocast.smo.config import ChannelConfig

MSS = 1000


def _filter(cwnd_segments: int = 40) -> LossFilter:
    cc = make_controller("lossfilter", MSS, 1 << 20)
    assert isinstance(cc, LossFilter)
    cc.cwnd = cwnd_segments * MSS
    cc.ssthresh = cc.cwnd  # congestion avoidance
    return cc


def _lasting(cc: LossFilter, rtt: float, start: float) -> None:
    """RTT samples at ``rtt``, 10 ms apart, for as long as a rise must last to stand."""
    for k in range(STANDING_BUCKETS):
        cc.on_rtt_sample(rtt, start + k * 0.010)


def test_a_loss_without_rtt_samples_is_congestion() -> None:
    cc = _filter()
    cc.on_congestion_event(0.0)
    assert cc.cwnd == 20 * MSS
    assert not cc.loss_ignored


def test_a_loss_on_an_empty_path_keeps_the_window() -> None:
    cc = _filter()
    cc.on_rtt_sample(0.010, 0.0)
    cc.on_rtt_sample(0.0105, 0.1)  # half a millisecond of jitter: no queue
    cc.on_congestion_event(0.2)
    assert cc.cwnd == 40 * MSS
    assert cc.loss_ignored


def test_a_loss_with_rtt_growth_halves_like_newreno() -> None:
    cc, reno = _filter(), NewReno(MSS, 40 * MSS, 1 << 20)
    reno.ssthresh = reno.cwnd
    cc.on_rtt_sample(0.010, 0.0)
    _lasting(cc, 0.020, 0.1)  # a 10 ms queue
    cc.on_congestion_event(0.2)
    reno.on_congestion_event(0.2)
    assert cc.cwnd == reno.cwnd == 20 * MSS
    assert not cc.loss_ignored


def test_small_paths_need_the_delay_floor() -> None:
    cc = _filter()
    cc.on_rtt_sample(0.0002, 0.0)
    _lasting(cc, 0.0015, 0.1)  # 7 times the minimum, but only 1.3 ms: scheduling noise
    assert not cc.queueing
    _lasting(cc, 0.0030, 0.2)
    assert cc.queueing


def test_the_minimum_rtt_expires() -> None:
    cc = _filter()
    cc.on_rtt_sample(0.010, 0.0)
    _lasting(cc, 0.030, 1.0)
    assert cc.queueing
    cc.on_rtt_sample(0.030, MIN_RTT_WINDOW + 0.5)  # the path changed: 30 ms is its new floor
    assert not cc.queueing


def test_a_timeout_on_an_empty_path_halves_instead_of_collapsing() -> None:
    cc = _filter()
    cc.on_rtt_sample(0.010, 0.0)
    cc.on_retransmission_timeout(1.0)
    assert cc.cwnd == 20 * MSS
    _lasting(cc, 0.050, 1.1)
    cc.on_retransmission_timeout(2.0)
    assert cc.cwnd == MSS


def test_only_the_filter_asks_for_rtt_samples() -> None:
    assert LossFilter.wants_rtt
    assert not NewReno.wants_rtt
    assert not make_controller("fixed", MSS, 1 << 20).wants_rtt


def test_an_unknown_controller_fails_when_the_channel_is_configured() -> None:
    with pytest.raises(ConfigError, match="unknown congestion controller 'cubic'; known: fixed, lossfilter, newreno"):
        ChannelConfig(congestion_control="cubic")
    assert channel_config(congestion_control="lossfilter").congestion_control == "lossfilter"


def test_one_late_sample_is_not_a_queue_but_a_lasting_rise_is() -> None:
    cc = _filter()
    for k in range(10):
        cc.on_rtt_sample(0.010, k * 0.002)
    cc.on_rtt_sample(0.040, 0.021)  # a delayed ACK, or a receiver that was not scheduled
    assert not cc.queueing
    for k in range(30):
        cc.on_rtt_sample(0.030, 0.03 + k * 0.002)  # every sample up for three round trips
    assert cc.queueing


# --- one-way delay samples (the ACK's DELAY_SAMPLE) --------------------------------------------

OFFSET_US = 2**32 - 5_000  # the receiver's clock stands 5 ms behind the source's: samples wrap


def _busy_receiver(cc: LossFilter, one_way_queue_us: int) -> None:
    """RTT samples that stand 6 ms above their 0.2 ms floor (a receiver not scheduled), while
    the one-way samples show ``one_way_queue_us`` of queue over their own floor."""
    cc.on_rtt_sample(0.0002, 0.0)
    cc.on_delay_sample((OFFSET_US + 150) % 2**32, 0.0)
    for k in range(1, 30):
        now = k * 0.002
        cc.on_rtt_sample(0.0062, now)
        cc.on_delay_sample((OFFSET_US + 150 + one_way_queue_us) % 2**32, now)


def test_a_busy_receivers_rtt_is_not_a_queue_when_its_one_way_delay_is_flat() -> None:
    cc = _filter()
    _busy_receiver(cc, one_way_queue_us=100)
    assert cc.standing_rtt == pytest.approx(0.0062)  # by the RTT alone, a queue
    cc.on_congestion_event(0.06)
    assert cc.loss_ignored
    assert cc.cwnd == 40 * MSS


def test_a_one_way_queue_is_congestion_whatever_the_clock_offset() -> None:
    cc = _filter()
    _busy_receiver(cc, one_way_queue_us=8_000)
    assert cc.queueing_delay == pytest.approx(0.008)
    cc.on_congestion_event(0.06)
    assert not cc.loss_ignored
    assert cc.cwnd == 20 * MSS


def test_stale_one_way_samples_give_way_to_the_rtt() -> None:
    cc = _filter()
    _busy_receiver(cc, one_way_queue_us=100)
    cc.on_rtt_sample(0.0062, 5.0)  # no ACK has carried a one-way sample for seconds
    assert cc.queueing


def test_only_the_filter_asks_for_delay_samples_and_validates_its_window() -> None:
    assert LossFilter.wants_delay and LossFilter.validates_window
    assert not NewReno.wants_delay and not NewReno.validates_window


def test_slow_start_doubles_only_a_window_that_is_used() -> None:
    cc = _filter()
    cc.ssthresh = 1 << 20  # slow start
    cc.on_ack(10 * MSS, 0.0, cwnd_limited=False)
    assert cc.cwnd == 40 * MSS
    cc.on_ack(10 * MSS, 0.1, cwnd_limited=True)
    assert cc.cwnd == 50 * MSS


def test_congestion_avoidance_grows_used_or_not() -> None:
    """The channel paces at the smallest window over its RTT: a receiver with a shorter RTT keeps
    less than half its window in flight, and must still grow."""
    cc = _filter()
    cc.on_ack(40 * MSS, 0.0, cwnd_limited=False)
    assert cc.cwnd == 41 * MSS


# --- the path's own noise (DelayTrack.jitter) ------------------------------------------------


def _path(cc: LossFilter, low: float, high: float, start: float, count: int) -> float:
    """One-way samples 1 ms apart that alternate between ``low`` and ``high`` seconds over the
    path's floor (equal: a quiet path); the time after the last."""
    for k in range(count):
        cc.on_rtt_sample(0.001, start + k * 0.001)
        cc.on_delay_sample(OFFSET_US + round(1e6 * (high if k % 2 else low)), start + k * 0.001)
    return start + count * 0.001


def test_a_rise_within_a_noisy_paths_jitter_is_not_a_queue() -> None:
    """A busy host moves an empty path's one-way delay by a millisecond or two, both ways, from
    one sample to the next: a loss that falls while it stands 3 ms up is still random."""
    cc = _filter()
    later = _path(cc, 0.0, 0.0015, 0.0, 200)  # 1.5 ms of jitter, no queue
    later = _path(cc, 0.003, 0.0045, later, 20)  # every sample 3 ms up for 20 ms
    assert cc.queueing_delay == pytest.approx(0.003)
    assert cc.queue_threshold is not None and cc.queue_threshold > 0.005
    cc.on_congestion_event(later)
    assert cc.loss_ignored
    assert cc.cwnd == 40 * MSS


def test_the_same_rise_on_a_quiet_path_is_a_queue() -> None:
    cc = _filter()
    later = _path(cc, 0.0, 0.0, 0.0, 200)
    later = _path(cc, 0.003, 0.003, later, 20)
    assert cc.queue_threshold == pytest.approx(0.002)  # the floor: no jitter to speak of
    cc.on_congestion_event(later)
    assert not cc.loss_ignored
    assert cc.cwnd == 20 * MSS


def test_a_queue_well_above_a_noisy_paths_jitter_is_congestion() -> None:
    cc = _filter()
    later = _path(cc, 0.0, 0.0015, 0.0, 200)
    later = _path(cc, 0.015, 0.0165, later, 20)  # a bottleneck's 15 ms queue on the same noise
    cc.on_congestion_event(later)
    assert not cc.loss_ignored
    assert cc.cwnd == 20 * MSS


@settings(max_examples=60, deadline=None)
@given(
    amplitude=st.floats(0.0, 0.002),
    noise=st.lists(st.floats(0.0, 1.0), min_size=60, max_size=200),
    queue_over_amplitude=st.floats(6.0, 50.0),
)
def test_a_queue_six_times_the_paths_noise_is_always_congestion(
    amplitude: float, noise: list[float], queue_over_amplitude: float
) -> None:
    """Whatever the noise (one-way delays anywhere within ``amplitude`` of the floor), the jitter
    stays within the amplitude, so a bottleneck's queue of six times it (and 3 ms at least)
    still halves the window: the threshold follows the path's noise, never the queue's height."""
    cc = _filter()
    queue = max(0.003, queue_over_amplitude * amplitude)
    delays = [amplitude * x for x in noise] + [queue + amplitude * x for x in noise[:30]]
    now = 0.0
    for delay in delays:
        cc.on_rtt_sample(0.001, now)
        cc.on_delay_sample(OFFSET_US + round(1e6 * delay), now)
        now += 0.001
    cc.on_congestion_event(now)
    assert not cc.loss_ignored
