"""No state before validation; RST and FIN only at the exact offset, never through the group (issue 10)."""

from __future__ import annotations

import random
import sys
from types import FrameType
from typing import Any

import pytest

from smocast.core.datagram import Address
from smocast.smo import events as ev
from smocast.smo.admission import REFUSED_SAMPLE
from smocast.smo.challenge import CHALLENGE_ACKS_PER_SECOND
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.smo.standin import validated_syn
from smocast.wire import HEADER_SIZE, NO_COOKIE, Packet, PacketType, ResetCode, decode, encode

SERVER: Address = ("192.0.2.1", 5000)
GROUP: Address = ("232.1.1.1", 5000)


def peer(i: int) -> Address:
    return (f"198.51.{i >> 8 & 0xFF}.{i & 0xFF}", 7000)


def syn(connection: int, cookie: bytes = NO_COOKIE) -> Packet:
    return Packet(PacketType.SYN, 1, connection, window=1 << 20, tsval=1, payload=cookie)


def sent(endpoint: Channel | Receiver, now: float) -> list[tuple[Packet, Address]]:
    return [(decode(d.data), d.destination) for d in endpoint.datagrams_to_send(now)]


# --- the source: a RETRY first, a child only for a valid cookie ---------------------------------


def test_a_first_syn_draws_one_retry_and_leaves_no_state() -> None:
    channel = Channel(GROUP, ChannelConfig(min_receivers=1), random.Random(1))
    channel.receive_packet(syn(7), peer(1), 1.0)
    ((retry, to),) = sent(channel, 1.0)
    assert (retry.type, retry.connection, to) == (PacketType.RETRY, 7, peer(1))
    assert (channel.receivers(), channel.holders, channel.stats.retries) == ([], 0, 1)
    assert channel.next_event() is None


def test_a_syn_that_echoes_the_cookie_creates_the_child() -> None:
    channel = Channel(GROUP, ChannelConfig(min_receivers=1), random.Random(1))
    channel.receive_packet(syn(7), peer(1), 1.0)
    ((retry, _),) = sent(channel, 1.0)
    channel.receive_packet(syn(7, retry.payload), peer(1), 1.1)
    ((answer, to),) = sent(channel, 1.1)
    assert (answer.type, to, channel.holders) == (PacketType.SYN_ACK, peer(1), 1)


@pytest.mark.parametrize("where", ["other address", "other connection", "expired"])
def test_a_cookie_for_something_else_draws_a_new_retry_only(where: str) -> None:
    channel = Channel(GROUP, ChannelConfig(min_receivers=1), random.Random(1))
    channel.receive_packet(syn(7), peer(1), 1.0)
    ((retry, _),) = sent(channel, 1.0)
    source, connection, now = peer(1), 7, 1.1
    if where == "other address":
        source = peer(2)
    elif where == "other connection":
        connection = 8
    else:
        now = 60.0
    channel.receive_packet(syn(connection, retry.payload), source, now)
    assert [p.type for p, _ in sent(channel, now)] == [PacketType.RETRY]
    assert channel.holders == 0


def test_refusals_are_counted_and_reported_as_a_bounded_sample() -> None:
    channel = Channel(GROUP, ChannelConfig(min_receivers=1, pacing=False), random.Random(1))
    validated_syn(channel, syn(1), peer(0), 0.0)
    sent(channel, 0.0)
    channel.receive_packet(Packet(PacketType.ACK, 1, 1, window=1 << 20), peer(0), 0.01)
    channel.write(bytes(10_000))
    sent(channel, 0.01)
    attempts = 500
    for i in range(1, attempts + 1):
        validated_syn(channel, syn(i + 1), peer(i), 0.02)
        assert [p.type for p, _ in sent(channel, 0.02)][-1:] == [PacketType.RST]
    refused = [e for e in iter(channel.next_event, None) if isinstance(e, ev.ReceiverDropped)]
    assert channel.stats.refused == attempts
    assert len(refused) == REFUSED_SAMPLE
    assert all(e.reason is ev.DropReason.REFUSED for e in refused)


def calls_per_drop(children: int) -> float:
    """Calls the channel makes per child that times out in its handshake (all at once)."""
    channel = Channel(GROUP, ChannelConfig(min_receivers=children + 1), random.Random(1))
    for i in range(children):
        validated_syn(channel, syn(i + 1), peer(i), 0.0)
    channel.datagrams_to_send(0.0)
    calls = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(profile)
    try:
        while (deadline := channel.next_deadline()) is not None and deadline < 30.0:
            channel.handle_timer(deadline)
            channel.datagrams_to_send(deadline)
            while channel.next_event() is not None:
                pass
    finally:
        sys.setprofile(None)
    assert channel.holders == 0 and channel.dropped == children
    return calls / children


def test_dropping_a_child_does_not_pass_over_the_others() -> None:
    small, large = calls_per_drop(300), calls_per_drop(1200)
    assert large <= 1.25 * small, f"{small:.0f} calls per drop among 300 children, {large:.0f} among 1,200"


def test_an_ack_of_an_unknown_connection_draws_an_exact_small_rst() -> None:
    channel = Channel(GROUP, ChannelConfig(), random.Random(1))
    ack = encode(Packet(PacketType.ACK, 1, 99, ack=123_456, window=1 << 20))
    channel.receive_datagram(ack, peer(3), 1.0)
    ((rst, to),) = sent(channel, 1.0)
    assert (rst.type, rst.connection, rst.seq, to) == (PacketType.RST, 99, 123_456, peer(3))
    assert HEADER_SIZE + len(rst.payload) <= 3 * len(ack)
    assert channel.stats.unknown_resets == 1


# --- the receiver: the cookie round trip, RST and FIN ----------------------------------------------


def connected(start: int = 1000) -> Receiver:
    rx = Receiver(SERVER, ReceiverConfig(), random.Random(3))
    rx.connect(0.0)
    ((first, _),) = sent(rx, 0.0)
    assert first.payload == NO_COOKIE
    rx.receive_packet(Packet(PacketType.RETRY, 1, rx.connection, payload=b"C" * 16), SERVER, 0.01)
    ((again, _),) = sent(rx, 0.01)
    assert (again.type, again.payload) == (PacketType.SYN, b"C" * 16)  # echoes the cookie at once
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=start, tsval=5), SERVER, 0.02)
    sent(rx, 0.02)
    assert isinstance(rx.next_event(), ev.Connected)
    return rx


def rst(rx: Receiver, seq: int, *, via_group: bool = False, now: float = 1.0) -> list[Packet]:
    packet = Packet(PacketType.RST, 1, rx.connection, seq, payload=bytes([ResetCode.DROPPED]) + b"bye")
    rx.receive_packet(packet, SERVER, now, via_group=via_group)
    return [p for p, _ in sent(rx, now)]


def test_an_rst_at_exactly_the_expected_offset_resets() -> None:
    rx = connected()
    rst(rx, 1000)
    assert rx.state is ReceiverState.CLOSED
    assert rx.next_event() == ev.ConnectionReset("bye", 1.0, ResetCode.DROPPED)


@pytest.mark.parametrize("offset", [1, -1, 1400, -65536])
def test_a_near_miss_draws_a_challenge_ack_and_changes_nothing(offset: int) -> None:
    rx = connected()
    (challenge,) = rst(rx, 1000 + offset)
    assert (challenge.type, challenge.ack) == (PacketType.ACK, 1000)
    assert rx.state is ReceiverState.ESTABLISHED
    assert (rx.stats.refused_controls, rx.stats.challenge_acks) == (1, 1)


def test_a_far_miss_is_ignored_silently() -> None:
    rx = connected()
    assert rst(rx, 1 << 62) == []
    assert rx.state is ReceiverState.ESTABLISHED


def test_challenge_acks_are_rate_limited() -> None:
    rx = connected()
    answers = sum(len(rst(rx, 1001, now=1.0 + k * 0.001)) for k in range(200))
    assert answers == CHALLENGE_ACKS_PER_SECOND
    assert len(rst(rx, 1001, now=2.5)) == 1  # a new second, a new budget


@pytest.mark.parametrize("kind", [PacketType.RST, PacketType.FIN])
def test_an_rst_or_fin_through_the_group_is_never_honoured(kind: PacketType) -> None:
    rx = connected()
    packet = Packet(kind, 1, rx.connection, 1000)
    rx.receive_datagram(encode(packet), SERVER, 1.0, via_group=True)
    assert sent(rx, 1.0) == []
    assert rx.state is ReceiverState.ESTABLISHED
    rx.receive_datagram(encode(packet), SERVER, 1.1)  # the same packet by unicast is honoured
    assert rx.state is not ReceiverState.ESTABLISHED


def test_a_fin_is_honoured_only_at_the_end_of_what_was_received() -> None:
    rx = connected(start=0)
    rx.receive_packet(Packet(PacketType.DATA, 1, 0, 0, payload=b"a" * 100), SERVER, 0.5, via_group=True)
    rx.receive_packet(Packet(PacketType.DATA, 1, 0, 200, payload=b"b" * 100), SERVER, 0.5, via_group=True)
    assert rx.rcv_nxt == 100
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, 100), SERVER, 0.6)  # data waits above a hole
    assert rx.state is ReceiverState.ESTABLISHED
    rx.receive_packet(Packet(PacketType.DATA, 1, 0, 100, payload=b"c" * 100), SERVER, 0.7, via_group=True)
    rx.receive_packet(Packet(PacketType.DATA, 1, 0, 400, payload=b""), SERVER, 0.7, via_group=True)  # heartbeat
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, 300), SERVER, 0.8)  # the stream went on to 400
    assert rx.state is ReceiverState.ESTABLISHED
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, 400), SERVER, 0.9)
    assert rx.state is ReceiverState.ESTABLISHED  # 300..400 never arrived
    rx.receive_packet(Packet(PacketType.DATA, 1, 0, 300, payload=b"d" * 100), SERVER, 1.0, via_group=True)
    rx.receive_packet(Packet(PacketType.FIN, 1, rx.connection, 400), SERVER, 1.1)
    assert (rx.state, rx.length) == (ReceiverState.FINISHED, 400)


def test_connection_ids_are_64_bit() -> None:
    ids = {Receiver(SERVER, rng=random.Random(seed)).connection for seed in range(64)}
    assert len(ids) == 64 and max(ids).bit_length() > 32 and max(ids) < 1 << 64
