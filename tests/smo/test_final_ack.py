"""The stream's last segment asks every receiver for an ACK at once (no delayed-ACK wait at the end)."""

from __future__ import annotations

from tests.smo.test_channel import MSS, Harness

from smocast.core.acking import AckFrequency, DelayedAck


def test_only_the_segment_that_ends_a_closed_stream_asks_for_an_ack_at_once() -> None:
    h = Harness(1, ack_frequency=AckFrequency(fixed=4))
    h.channel.write(bytes(6 * MSS + 300))
    h.channel.close()
    h.pump()
    hints = [p.ack_every for p in h.data_sent()]
    assert hints == [4] * 6 + [1]


def test_data_written_before_close_keeps_the_channels_hint() -> None:
    h = Harness(1, ack_frequency=AckFrequency(fixed=4))
    h.channel.write(bytes(3 * MSS))
    h.pump()
    h.channel.write(bytes(MSS))
    h.channel.close()
    h.pump()
    assert [p.ack_every for p in h.data_sent()] == [4, 4, 4, 1]


def test_an_open_stream_that_drains_its_queue_keeps_the_channels_hint() -> None:
    h = Harness(1, ack_frequency=AckFrequency(fixed=4))
    h.channel.write(bytes(2 * MSS + 10))
    h.pump()
    assert [p.ack_every for p in h.data_sent()] == [4, 4, 4]


def test_a_receiver_acks_the_last_segment_at_once() -> None:
    delayed = DelayedAck(0.02)
    assert not delayed.on_data(True, 4, now=0.0)
    assert delayed.on_data(True, 1, now=0.0)
