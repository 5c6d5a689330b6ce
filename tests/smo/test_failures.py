"""When one side fails, the other learns it fast and is told why (issue 14), in the sans-IO cores.

* A receiver that fails (disk full, a read-only directory, a bad hash, Ctrl-C) leaves with an
  RST that carries a reason code and text; the source reports it.
* A receiver whose source died gives up after a few of the source's heartbeats (announced in
  the SYN-ACK), and says how long it really heard nothing.
* A source learns from an ICMP port unreachable that a receiver is gone; if no ACK follows
  for a few RTTs, it drops the receiver at once instead of after the progress timeout.
"""

from __future__ import annotations

import random

import pytest
from tests.fakenet import SERVER, FakeNet, Terrible

from smocast.smo import events as ev
from smocast.smo.config import DEFAULT_SILENT_HEARTBEATS, ChannelConfig, DropRules, ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import Packet, PacketType, ResetCode, decode

# --- a receiver's own failure reaches the source ---------------------------------------------------


def _left(fake: FakeNet) -> list[ev.ReceiverLeft]:
    return [e for e in fake.source_events if isinstance(e, ev.ReceiverLeft)]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (ResetCode.DISK_FULL, "cannot write out/f.bin: disk full"),
        (ResetCode.NOT_WRITABLE, "cannot create a file in out: read-only file system"),
        (ResetCode.VERIFY_FAILED, "SHA-256 mismatch for f.bin"),
        (ResetCode.INTERRUPTED, "interrupted"),
    ],
)
def test_a_receiver_that_fails_tells_the_source_why(code: ResetCode, text: str) -> None:
    fake = FakeNet(ChannelConfig(min_receivers=2), receivers=2, seed=3)
    fake.channel.write(b"x" * 20_000)
    fake.run(until=1.0)
    quitter, other = fake.peers
    quitter.receiver.close(fake.now, code, text)
    fake._pump_peer(quitter)
    fake.run(until=2.0)
    (left,) = _left(fake)
    assert (left.address, left.reason, left.detail) == (quitter.address, code, text)
    assert left.info is not None and left.info.acked == 20_000
    fake.channel.close()
    fake.run(until=10.0, stop=fake.finished)
    assert other.ended and bytes(other.data) == b"x" * 20_000


def test_a_plain_close_says_the_application_closed() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=1), receivers=1, seed=4)
    fake.channel.write(b"x" * 5000)
    fake.run(until=1.0)
    (peer,) = fake.peers
    peer.receiver.close(fake.now)
    fake._pump_peer(peer)
    fake.run(until=2.0)
    (left,) = _left(fake)
    assert (left.reason, left.detail) == (ResetCode.CLOSED, "")


def test_the_source_says_why_it_dropped_a_receiver_with_a_code() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=2), receivers=2, seed=5)
    fake.channel.write(b"x" * 5000)
    fake.run(until=1.0)
    fake.channel.drop(1, fake.now, "enough")
    fake._pump_source()
    fake.run(until=2.0)
    reset = next(e for e in fake.peers[0].events if isinstance(e, ev.ConnectionReset))
    assert (reset.code, reset.reason) == (ResetCode.DROPPED, "application")


# --- a dead source: a few heartbeats ---------------------------------------------------------------


def test_the_syn_ack_announces_the_heartbeat_interval() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=1, keepalive=0.5), receivers=0, seed=6)
    peer = fake.add_receiver()
    fake.run(until=1.0)
    assert peer.receiver.heartbeat == 0.5
    quiet = FakeNet(ChannelConfig(min_receivers=1, keepalive=None), receivers=1, seed=6)
    quiet.run(until=1.0)
    assert quiet.peers[0].receiver.heartbeat is None


def test_a_receiver_gives_up_a_dead_source_after_a_few_heartbeats_and_says_when() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=2, keepalive=1.0), receivers=1, seed=7)  # waits for a second
    fake.run(until=30.0)
    (peer,) = fake.peers
    assert peer.reset is None  # an idle source that heartbeats is alive
    heard = fake.now
    fake.kill_source()
    fake.run(until=200.0)
    reset = next(e for e in peer.events if isinstance(e, ev.ConnectionReset))
    assert reset.code is ResetCode.SOURCE_SILENT
    limit = DEFAULT_SILENT_HEARTBEATS * 1.0  # the last heartbeat came less than a second before the kill
    assert heard + limit - 1.0 < reset.at <= heard + limit  # a few heartbeats after its death, not 60 or 117 s
    assert f"nothing heard from the source for {limit:.1f} s" in reset.reason
    assert "heartbeat every 1 s" in reset.reason


def test_the_receiver_tells_a_silent_source_why_it_leaves() -> None:
    rx = Receiver(SERVER, ReceiverConfig(source_timeout=2.0), random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    deadline = rx.next_deadline()
    assert deadline is not None and deadline == pytest.approx(2.01)
    rx.handle_timer(2.5)  # the event loop woke late: the message says the real silence
    (rst,) = [decode(d.data) for d in rx.datagrams_to_send(2.5)]
    assert rst.type is PacketType.RST
    events = []
    while (event := rx.next_event()) is not None:
        events.append(event)
    reset = events[-1]
    assert isinstance(reset, ev.ConnectionReset) and reset.code is ResetCode.SOURCE_SILENT
    assert reset.reason.startswith("nothing heard from the source for 2.5 s")


def test_an_explicit_source_timeout_wins_over_the_heartbeats() -> None:
    fake = FakeNet(
        ChannelConfig(min_receivers=2, keepalive=1.0),
        receivers=1,
        seed=8,
        receiver_config=ReceiverConfig(source_timeout=20.0),
    )
    fake.run(until=5.0)
    heard = fake.now
    fake.kill_source()
    fake.run(until=100.0)
    reset = next(e for e in fake.peers[0].events if isinstance(e, ev.ConnectionReset))
    assert heard + 19.0 <= reset.at <= heard + 20.0


# --- a dead receiver: ICMP port unreachable, then a few RTTs without an ACK -------------------------


def _dropped(fake: FakeNet) -> list[ev.ReceiverDropped]:
    return [e for e in fake.source_events if isinstance(e, ev.ReceiverDropped)]


def test_a_dead_receiver_is_dropped_within_a_second_and_the_others_go_on() -> None:
    fake = FakeNet(
        ChannelConfig(min_receivers=4, mss=1000),
        receivers=4,
        seed=9,
        net=Terrible(delay=0.002),
    )
    data = random.Random(9).randbytes(2_000_000)
    fake.channel.write(data)
    fake.channel.close()
    fake.run(until=30.0, stop=lambda: fake.channel.snd_nxt > 500_000)
    victim = fake.peers[0]
    fake.kill(victim)
    killed = fake.now
    fake.run(until=60.0, stop=fake.finished)
    (dropped,) = _dropped(fake)
    assert dropped.address == victim.address and dropped.reason is ev.DropReason.UNREACHABLE
    assert dropped.at - killed < 1.0  # not the progress timeout (10 s)
    assert all(bytes(p.data) == data for p in fake.peers[1:])


def test_a_dead_receiver_without_icmp_waits_for_the_progress_timeout() -> None:
    """No ICMP comes back (a firewall, a dead host): only the progress timeout tells."""
    fake = FakeNet(ChannelConfig(min_receivers=3), receivers=3, seed=10, net=Terrible(delay=0.002))
    fake.channel.write(random.Random(10).randbytes(500_000))
    fake.channel.close()
    fake.run(until=30.0, stop=lambda: fake.channel.snd_nxt > 100_000)
    fake.peers[0].frozen = True
    frozen = fake.now
    fake.run(until=60.0, stop=fake.finished)
    (dropped,) = _dropped(fake)
    assert dropped.reason is ev.DropReason.NO_PROGRESS and dropped.at - frozen >= 10.0


def test_an_icmp_for_a_receiver_that_keeps_acking_drops_nothing() -> None:
    """A forged (or stale) port unreachable: the receiver's ACKs prove it alive."""
    fake = FakeNet(ChannelConfig(min_receivers=3), receivers=3, seed=11, net=Terrible(delay=0.002))
    data = random.Random(11).randbytes(800_000)
    fake.channel.write(data)
    fake.channel.close()
    fake.run(until=30.0, stop=lambda: fake.channel.snd_nxt > 100_000)
    for _ in range(20):
        fake.channel.unreachable(fake.peers[1].address, fake.now)
        fake.run(until=fake.now + 0.05)
    fake.run(until=60.0, stop=fake.finished)
    assert _dropped(fake) == []
    assert all(bytes(p.data) == data for p in fake.peers)


def test_an_icmp_while_nothing_is_outstanding_waits_for_data() -> None:
    """A receiver with everything acknowledged holds nothing back: it is not dropped for an ICMP
    alone, and a live one that acknowledges the next data stays."""
    fake = FakeNet(ChannelConfig(min_receivers=2), receivers=2, seed=12, net=Terrible(delay=0.002))
    fake.channel.write(b"x" * 10_000)
    fake.run(until=2.0)
    fake.channel.unreachable(fake.peers[0].address, fake.now)
    fake.run(until=5.0)
    assert _dropped(fake) == []
    fake.channel.write(b"y" * 10_000)
    fake.channel.close()
    fake.run(until=20.0, stop=fake.finished)
    assert _dropped(fake) == [] and all(p.ended for p in fake.peers)


def test_an_icmp_from_an_address_that_is_no_receiver_is_ignored() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=1), receivers=1, seed=13)
    fake.channel.unreachable(("203.0.113.7", 9), 0.0)
    fake.channel.write(b"x" * 5000)
    fake.channel.close()
    fake.run(until=10.0, stop=fake.finished)
    assert _dropped(fake) == [] and fake.peers[0].ended


def test_a_receiver_that_dies_after_the_last_byte_does_not_hold_the_end() -> None:
    """Killed before it acknowledged the FIN: the FIN draws the ICMP, the channel finishes at once."""
    fake = FakeNet(
        ChannelConfig(min_receivers=2, drop_rules=DropRules(progress_timeout=10.0)),
        receivers=2,
        seed=14,
        net=Terrible(delay=0.002),
    )
    fake.channel.write(b"x" * 5000)
    fake.run(until=1.0)
    fake.kill(fake.peers[0])
    killed = fake.now
    fake.channel.close()
    fake._pump_source()
    fake.run(until=30.0, stop=fake.finished)
    assert fake.finished()
    (dropped,) = _dropped(fake)
    assert dropped.reason is ev.DropReason.UNREACHABLE and dropped.at - killed < 1.0


def test_a_receiver_that_holds_the_end_can_still_report_a_bad_file() -> None:
    """The stream is whole, but the application finds the file bad: the FIN is not acknowledged
    yet, so the source is still there to hear why."""
    fake = FakeNet(ChannelConfig(min_receivers=2), receivers=2, seed=15)
    checker, other = fake.peers
    checker.receiver.hold_end()
    fake.channel.write(b"x" * 20_000)
    fake.channel.close()
    fake.run(until=5.0, stop=lambda: checker.ended and other.ended)
    fake.run(until=fake.now + 1.0)
    assert not fake.finished()  # the source waits for the checker's answer
    checker.receiver.close(fake.now, ResetCode.VERIFY_FAILED, "SHA-256 mismatch")
    fake._pump_peer(checker)
    fake.run(until=20.0, stop=fake.finished)
    (left,) = _left(fake)
    assert (left.reason, left.detail) == (ResetCode.VERIFY_FAILED, "SHA-256 mismatch")
    completed = [e for e in fake.source_events if isinstance(e, ev.ReceiverCompleted)]
    assert [e.address for e in completed] == [other.address]


def test_a_receiver_that_holds_the_end_completes_once_it_accepts() -> None:
    fake = FakeNet(ChannelConfig(min_receivers=1), receivers=1, seed=16)
    (peer,) = fake.peers
    peer.receiver.hold_end()
    fake.channel.write(b"x" * 20_000)
    fake.channel.close()
    fake.run(until=5.0, stop=lambda: peer.ended)
    fake.run(until=fake.now + 1.0)
    assert not fake.finished()
    peer.receiver.accept_end(fake.now)
    fake._pump_peer(peer)
    fake.run(until=20.0, stop=fake.finished)
    assert fake.finished() and _left(fake) == [] and _dropped(fake) == []
