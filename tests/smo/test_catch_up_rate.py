"""Catch-up from history stays within the rate cap (``ChannelConfig.max_rate``).

A receiver that resumes below the send buffer gets the bytes it misses by unicast from
history, clocked by its own ACKs. Under a cap those pieces ask the pacer as new data does, so
what the source sends, new data, repairs and catch-up together, stays within the cap.
"""

from __future__ import annotations

import random

import pytest
from tests.fakenet import FakeNet, Peer, Terrible

from smocast.core.congestion import make_controller
from smocast.core.datagram import Datagram
from smocast.core.rtt import RttEstimator
from smocast.core.timers import TimerQueue
from smocast.smo.channel import Channel
from smocast.smo.child import Child, ChildRules
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.outbox import SourceOutbox
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.transmit import Transmitter

GROUP_ADDRESS = ("232.1.1.1", 5000)
CAP = 8e6  # bits per second: one megabyte per second of datagram payloads
WINDOW = 0.25  # seconds over which the egress is checked
BURST = 10 * (1400 + 48)  # the pacer's burst (ChannelConfig.pacing_burst_segments), with slack for a header


def _started(
    data: bytes, cap: float | None, until_base: int, *, seed: int = 3, net: Terrible | None = None, limit: int = -1
) -> tuple[FakeNet, list[tuple[float, int]]]:
    """A source of ``data`` with a history of it (up to ``limit`` if given) and one receiver, run
    until its buffer moved past ``until_base``; with every datagram it sends, as ``(time, bytes)``."""
    config = ChannelConfig(min_receivers=1, admission="wait", max_rate=cap)
    fake = FakeNet(config, receivers=1, seed=seed, net=net)
    end = len(data) if limit < 0 else limit
    fake.channel = Channel(
        fake.channel.group, config, random.Random(seed), history=lambda at, length: data[at : min(at + length, end)]
    )
    sent = _logged(fake.channel)
    (first,) = fake.peers
    first.receiver.state = type(first.receiver.state).IDLE  # reconnect to the channel with history
    first.receiver.connect(fake.now)
    fake.channel.write(data)
    fake.channel.close()
    fake.run(until=30.0, stop=lambda: fake.channel.buffer_base > until_base)
    assert fake.channel.buffer_base > until_base
    return fake, sent


def _resumed(fake: FakeNet, resume_from: int, seed: int = 9) -> Peer:
    """A receiver that resumes at ``resume_from`` now, run with the others until all end."""
    peer = fake.add_receiver(connect=False)
    peer.receiver = type(peer.receiver)(
        peer.receiver.server, ReceiverConfig(resume_from=resume_from), random.Random(seed)
    )
    peer.receiver.connect(fake.now)
    fake.run(until=120.0, stop=fake.finished)
    return peer


def _transfer(size: int, resume_from: int, cap: float | None) -> tuple[FakeNet, list[tuple[float, int]], float]:
    """A transfer of ``size`` bytes; once the buffer has moved past a megabyte, a receiver
    resumes at ``resume_from``. Returns the net, every datagram the source sent, and when the
    resumed receiver joined."""
    data = random.Random(1).randbytes(size)
    fake, sent = _started(data, cap, 1_000_000)
    joined_at = fake.now
    resumed = _resumed(fake, resume_from)
    assert resumed.reset is None and resumed.ended and bytes(resumed.data) == data[resume_from:]
    assert bytes(fake.peers[0].data) == data
    return fake, sent, joined_at


def _logged(channel: Channel) -> list[tuple[float, int]]:
    """Every datagram ``channel`` sends from now on, as ``(time, bytes)``."""
    sent: list[tuple[float, int]] = []
    take = channel.datagrams_to_send

    def logged(now: float) -> list[Datagram[object]]:
        out = take(now)
        sent.extend((now, len(d.data)) for d in out)
        return out  # type: ignore[return-value]

    channel.datagrams_to_send = logged  # type: ignore[method-assign]
    return sent


def _busiest_window(sent: list[tuple[float, int]], since: float) -> int:
    """The most bytes the source sent in any ``WINDOW`` seconds after ``since``."""
    times = [(t, n) for t, n in sent if t >= since]
    most, total, start = 0, 0, 0
    for t, n in times:
        total += n
        while times[start][0] < t - WINDOW:
            total -= times[start][1]
            start += 1
        most = max(most, total)
    return most


def test_catch_up_from_history_stays_within_the_cap() -> None:
    fake, sent, joined_at = _transfer(1_600_000, 0, CAP)
    assert _busiest_window(sent, joined_at) <= CAP / 8 * WINDOW * 1.02 + BURST
    caught_up = fake.channel.stats.catch_up()
    assert caught_up["bytes"] >= 1_000_000 and caught_up["pieces"] >= 700  # most of the file came from history
    assert caught_up["holds"] > 0  # and the cap held it


def test_without_a_cap_catch_up_goes_at_the_pace_of_its_acks() -> None:
    """The same transfer without a cap: catch-up is not held back (and the check above could fail)."""
    fake, sent, joined_at = _transfer(1_600_000, 0, None)
    assert _busiest_window(sent, joined_at) > 2 * (CAP / 8 * WINDOW)
    assert fake.channel.stats.catch_up_bytes >= 1_000_000 and fake.channel.stats.catch_up_holds == 0


def test_a_history_that_ends_sooner_stops_the_catch_up_there_and_the_others_go_on() -> None:
    """History that cannot serve past ``LIMIT`` (a relay's, say): the resumed receiver gets every
    byte below it in order, nothing is sent from beyond it, and it is dropped for making no
    progress while the first receiver completes."""
    limit = 300_000
    data = random.Random(1).randbytes(1_600_000)
    fake, _ = _started(data, CAP, 1_000_000, limit=limit)
    resumed = _resumed(fake, 0)
    assert bytes(fake.peers[0].data) == data
    assert bytes(resumed.data) == data[:limit]
    assert resumed.reset is not None and "progress" in resumed.reset


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_on_a_lossy_path_the_resumed_receiver_completes_and_the_cap_holds(seed: int) -> None:
    """Catch-up pieces, and the ACKs that clock them, are lost too (3%): held, refused or lost,
    every byte still arrives once and in order, and the source stays within the cap (repairs go
    at once and are paid back after, so a window may run over by a few of them)."""
    data = random.Random(seed).randbytes(1_200_000)
    fake, sent = _started(data, CAP, 600_000, seed=seed, net=Terrible(drop=0.03, ack_drop=0.03))
    joined_at = fake.now
    resumed = _resumed(fake, 0, seed)
    assert bytes(fake.peers[0].data) == data
    assert resumed.reset is None and resumed.ended and bytes(resumed.data) == data
    assert fake.channel.stats.catch_up_bytes >= 600_000
    assert _busiest_window(sent, joined_at) <= CAP / 8 * WINDOW * 1.02 + 4 * BURST


def test_the_line_of_held_catch_up_serves_each_receiver_once_in_the_order_held() -> None:
    config = ChannelConfig(max_rate=CAP)
    transmit = Transmitter(config, SendBuffer(config.mss), SourceOutbox(config.channel_id, GROUP_ADDRESS, None))
    now = 1.0
    while transmit.catch_up_allowed(config.mss, now):  # spend the pacer's burst
        pass
    for receiver in (7, 3, 7, 9):
        transmit.hold_catch_up(receiver, now)
    assert list(transmit.catch_up_line) == [7, 3, 9]  # held twice, in line once
    assert transmit.next_catch_up(now) is None  # no room yet: a wake-up instead
    assert transmit.pacing_wakeup is not None and transmit.pacing_wakeup > now
    later = now + 1.0  # the bucket is full again
    assert [transmit.next_catch_up(later) for _ in range(4)] == [7, 3, 9, None]


def _resumed_child() -> Child:
    """A child that resumed at 0 while the buffer holds [100_000, 140_000): established, in the
    recovery its join began, with history for everything below the buffer."""
    mss = 1000
    buf = SendBuffer(mss)
    buf.write(bytes(140_000))
    for _ in range(140):
        buf.take(0.0, 1, 1)
    buf.force_release(100_000)
    rules = ChildRules(mss=mss, progress_timeout=10.0, handshake_timeout=5.0, history=lambda at, n: bytes(n))
    child = Child(
        1, ("192.0.2.9", 7000), 1, 0,
        cc=make_controller("newreno", mss, 1 << 20), rtt=RttEstimator(), buffer=buf, rules=rules,
        timers=TimerQueue(), on_timer=lambda child, now: None, now=1.0,
    )  # fmt: skip
    child.establish(1 << 20, 0, 1.0)
    return child


def test_while_catching_up_a_receiver_is_sent_no_buffer_segment_even_with_credit_to_spare() -> None:
    """The buffer's segments lie far ahead of what the receiver has: it could not keep them, and
    each would spend the credit the catch-up needs (64 KB segments stalled it on loopback). Here
    the pacer held the catch-up and gave its credit back; the next ACK must not spend it on them."""
    child = _resumed_child()
    pieces = child.repair_on_join(1.0).history
    assert pieces[0] == (0, 1000) and all(offset < 100_000 for offset, _ in pieces)
    child.catch_up_stopped(1000, sum(length for _, length in pieces[1:]), held=True)
    outcome = child.on_ack(1000, 1 << 20, 0, (), 1.01)
    assert child.credit > 0 and not outcome.history  # held: nothing until its turn
    assert not outcome.repairs


def test_a_held_receivers_turn_sends_a_piece_even_with_its_credit_spent() -> None:
    """With nothing in flight no ACK would bring it credit: without one piece at its turn, it
    would wait for its retransmission timeout."""
    child = _resumed_child()
    child.repair_on_join(1.0)
    child.catch_up_stopped(0, 0, held=True)  # held, and nothing given back
    child.credit = 0
    assert child.resume_catch_up() == [(0, 1000)]
