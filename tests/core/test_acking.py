from __future__ import annotations

import pytest

from smocast.core.acking import AckFrequency, DelayedAck
from smocast.core.errors import ConfigError


def test_delayed_ack_every_nth_segment() -> None:
    d = DelayedAck(delay=0.02)
    assert d.on_data(True, 2, 0.0) is False
    assert d.deadline == pytest.approx(0.02)
    assert d.on_data(True, 2, 0.001) is True
    d.on_ack_sent()
    assert d.deadline is None and d.unacked_segments == 0


def test_out_of_order_acks_at_once() -> None:
    d = DelayedAck()
    assert d.on_data(False, 8, 0.0) is True


def test_delayed_ack_timer() -> None:
    d = DelayedAck(delay=0.02)
    d.on_data(True, 8, 1.0)
    assert not d.due(1.01)
    assert d.due(1.02)


def test_adaptive_frequency_follows_the_paper() -> None:
    f = AckFrequency()
    assert f.segments_per_ack(slow_start=True, window_segments=100) == 2
    assert f.segments_per_ack(slow_start=False, window_segments=100) == 8
    assert f.segments_per_ack(slow_start=False, window_segments=16) == 4
    assert f.segments_per_ack(slow_start=False, window_segments=4) == 2


def test_a_receiver_acks_every_second_segment_for_a_while_after_a_hole() -> None:
    d = DelayedAck()
    assert d.on_data(False, 8, 0.0) is True
    d.on_ack_sent()
    acks = 0
    for _ in range(40):
        if d.on_data(True, 8, 0.0):
            acks += 1
            d.on_ack_sent()
    assert acks == 8 + 3  # 16 segments two by two, then 24 eight by eight


def test_fixed_frequency_and_validation() -> None:
    assert AckFrequency(fixed=4).segments_per_ack(slow_start=True, window_segments=1) == 4
    with pytest.raises(ConfigError):
        AckFrequency(fixed=0)
    with pytest.raises(ConfigError):
        AckFrequency(minimum=9, maximum=8)
