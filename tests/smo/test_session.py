"""Session relay, heartbeats and silent sources, and resuming at an offset."""

from __future__ import annotations

import random

from tests.fakenet import FakeNet, Terrible

from smocast.smo import events as ev
from smocast.smo.config import ChannelConfig, ReceiverConfig


def test_receivers_talk_back_and_the_source_repeats_it_to_all() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=3), receivers=3, seed=4, net=Terrible(drop=0.1, ack_drop=0.1))
    fake.channel.write(b"lecture " * 100)
    fake.run(until=5.0)
    question = b"what about loss? " * 300  # spans several UPDATA segments
    asker = fake.peers[1]
    assert asker.receiver.send_up(b"hello", fake.now)
    assert asker.receiver.send_up(question, fake.now)
    fake.run(until=20.0, stop=lambda: sum(isinstance(e, ev.SessionData) for e in fake.source_events) == 2)
    got = [e for e in fake.source_events if isinstance(e, ev.SessionData)]
    assert [e.data for e in got] == [b"hello", question]
    assert {e.address for e in got} == {asker.address}
    fake.channel.write(b"Q: " + question)  # the teacher repeats the question to the class
    fake.channel.close()
    fake.run(until=60.0, stop=fake.finished)
    for peer in fake.peers:
        assert bytes(peer.data).endswith(b"Q: " + question)
    assert asker.receiver.up_pending == 0


def test_an_idle_source_keeps_receivers_with_heartbeats() -> None:
    fake = FakeNet(
        ChannelConfig(min_receivers=2, keepalive=1.0),
        receivers=2,
        seed=5,
        receiver_config=ReceiverConfig(source_timeout=3.0),
    )
    fake.channel.write(b"x" * 3000)
    fake.run(until=12.0)  # idle for about ten seconds after the data
    assert all(peer.reset is None for peer in fake.peers)
    assert all(bytes(peer.data) == b"x" * 3000 for peer in fake.peers)


def test_a_receiver_gives_up_a_silent_source() -> None:
    fake = FakeNet(
        ChannelConfig(min_receivers=1, keepalive=None),
        receivers=1,
        seed=6,
        receiver_config=ReceiverConfig(source_timeout=2.0),
    )
    fake.channel.write(b"x" * 3000)
    fake.run(until=10.0)
    (peer,) = fake.peers
    assert peer.reset is not None and "nothing heard" in peer.reset


def test_a_receiver_resumes_below_the_buffer_from_history() -> None:
    data = random.Random(1).randbytes(400_000)
    fake = FakeNet(ChannelConfig(min_receivers=2, admission="wait"), receivers=2, seed=7, net=Terrible(drop=0.03))
    fake.channel = type(fake.channel)(
        fake.channel.group,
        fake.channel.config,
        random.Random(2),
        history=lambda offset, length: data[offset : offset + length],
    )
    for peer in fake.peers:  # reconnect to the new channel
        peer.receiver.state = type(peer.receiver.state).IDLE
        peer.receiver.connect(fake.now)
    fake.channel.write(data)
    fake.channel.close()
    fake.run(until=3.0, stop=lambda: fake.channel.buffer_base > 200_000)
    assert fake.channel.buffer_base > 100_000
    resumed = fake.add_receiver(connect=False)
    resumed.receiver = type(resumed.receiver)(
        resumed.receiver.server, ReceiverConfig(resume_from=50_000), random.Random(9)
    )
    resumed.receiver.connect(fake.now)
    fake.run(until=120.0, stop=fake.finished)
    assert resumed.start == 50_000 and resumed.reset is None and resumed.ended
    assert bytes(resumed.data) == data[50_000:]
    assert all(bytes(p.data) == data for p in fake.peers[:2])


def test_resuming_below_the_buffer_without_history_is_refused() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=1), receivers=1, seed=8)
    fake.channel.write(bytes(300_000))
    fake.run(until=3.0, stop=lambda: fake.channel.buffer_base > 100_000)
    late = fake.add_receiver(connect=False)
    late.receiver = type(late.receiver)(late.receiver.server, ReceiverConfig(resume_from=1000), random.Random(3))
    late.receiver.connect(fake.now)
    fake.run(until=fake.now + 2.0)
    assert late.reset is not None and "cannot resume" in late.reset
