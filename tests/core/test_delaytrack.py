"""The base and standing delay of a path, from RTT or one-way samples."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smocast.core.delaytrack import MIN_RTT_WINDOW, STANDING_BUCKETS, DelayTrack


def test_nothing_before_a_sample() -> None:
    track = DelayTrack()
    assert track.standing is None and track.base is None and track.queueing_delay is None


def test_the_standing_delay_is_the_smallest_of_the_last_buckets() -> None:
    track = DelayTrack()
    for k, delay in enumerate([0.010, 0.030, 0.011, 0.040]):
        track.add(delay, k * 0.001)
    assert track.standing == 0.010  # one bucket (5 ms at least): its smallest
    for k in range(20):
        track.add(0.020, 0.02 + k * 0.001)  # two buckets later, every sample 10 ms up
    assert track.queueing_delay == pytest.approx(0.010)


def test_one_late_sample_among_sparse_ones_is_not_a_queue() -> None:
    """ACKs 10 ms apart (a bucket lasts 5 ms, so each holds one sample): a single sample 5 ms
    late, a receiver the scheduler left waiting, must not read as a standing queue."""
    track = DelayTrack()
    for k in range(10):
        track.add(0.001, k * 0.010)
    track.add(0.006, 0.100)
    assert track.queueing_delay == pytest.approx(0.0)


def test_a_rise_among_sparse_samples_shows_once_it_stands() -> None:
    track = DelayTrack()
    for k in range(10):
        track.add(0.001, k * 0.010)
    risen = []
    for k in range(STANDING_BUCKETS):
        track.add(0.006, 0.1 + k * 0.010)
        risen.append(track.queueing_delay)
    assert risen[:-1] == [pytest.approx(0.0)] * (STANDING_BUCKETS - 1)
    assert risen[-1] == pytest.approx(0.005)


def test_the_base_expires() -> None:
    track = DelayTrack()
    track.add(0.010, 0.0)
    track.add(0.030, MIN_RTT_WINDOW + 1)
    assert track.base == 0.030


@given(offset=st.integers(0, 2**32 - 1), queue_us=st.integers(0, 100_000), floor_us=st.integers(0, 10_000))
def test_one_way_samples_cancel_any_clock_offset(offset: int, queue_us: int, floor_us: int) -> None:
    track = DelayTrack()
    track.add_one_way((offset + floor_us) % 2**32, 0.0, None)
    for k in range(1, 25):
        track.add_one_way((offset + floor_us + queue_us) % 2**32, k * 0.001, None)
    assert track.queueing_delay == pytest.approx(queue_us / 1e6, abs=1e-9)


def test_the_jitter_follows_the_gaps_between_consecutive_samples() -> None:
    """RFC 3550's estimator: each gap moves it by a sixteenth of the difference."""
    track = DelayTrack()
    for k in range(100):
        track.add(0.010, k * 0.001)
    assert track.jitter == 0.0
    for k in range(100):
        track.add(0.010 + 0.002 * (k % 2), 0.1 + k * 0.001)  # 2 ms apart, both ways
    assert track.jitter == pytest.approx(0.002, rel=0.01)


def test_a_queue_that_builds_sample_by_sample_leaves_little_jitter() -> None:
    track = DelayTrack()
    for k in range(200):
        track.add(0.010 + k * 0.0001, k * 0.001)  # 0.1 ms more each sample: 20 ms in all
    assert track.queueing_delay is not None and track.queueing_delay > 0.015
    assert track.jitter == pytest.approx(0.0001, rel=0.01)
