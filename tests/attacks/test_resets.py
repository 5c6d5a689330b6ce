"""Resets and FINs that cannot be guessed (issue 10, section 2).

Measured on main before the defence: an RST with the right connection id was accepted
whatever its sequence number, also when sent to the group (one packet tests every
receiver); 400 FINs sprayed around the next expected offset tore a receiver down;
connection ids were 32-bit.

The attacker here knows the connection id (it sniffed an ACK, or guessed it): what must
stop it is the sequence check (RFC 5961), and the group path never being trusted for RST.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from tests.aio.netutil import loopback, payload, run
from tests.attacks import forge
from tests.attacks.net import SERVER, Net, Peer, sha256

import smocast
from smocast.smo import ChannelConfig
from smocast.smo import events as ev
from smocast.wire import PacketType, decode


def receiver_id(net: Net, peer: Peer) -> int:
    (joined,) = [e for e in net.of(ev.ReceiverJoined) if e.address == peer.address]
    return int(joined.receiver)


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
def test_an_rst_at_a_wrong_sequence_is_ignored_and_draws_a_challenge_ack(attack: bool) -> None:
    net = Net(ChannelConfig(min_receivers=2), seed=21)
    target, other = net.add_receiver(capture=True), net.add_receiver()
    data = random.Random(6).randbytes(1_000_000)
    net.paced_write(data, chunk=50_000, every=0.05)
    net.run(until=0.5)
    if attack:
        connection = forge.connection_of(target.sent)
        expected = target.receiver.rcv_nxt
        assert 0 < expected < len(data)  # mid-transfer
        misses = [expected + 1, expected - 1, expected + 1400, expected + 65536, 0, 1 << 62]
        answers = [net.deliver_to(target, forge.rst(connection, seq=s, reason=b"forged"), SERVER) for s in misses]
        reset = target.reset
        assert reset is None, f"a forged RST at seq {misses[0]} (expected {expected}) reset the receiver"
        challenge = [p for p in forge.decoded(answers[0]) if p.type is PacketType.ACK]
        assert challenge, "a near-miss RST drew no challenge ACK"
    net.at(0.6, lambda: net.channel.drop(receiver_id(net, other), net.now))  # the source's own RST still works
    net.run(until=30.0, stop=net.finished)
    assert other.reset is not None
    assert (target.reset, target.length, target.sha256) == (None, len(data), sha256(data))


@pytest.mark.parametrize("attack", [False, True], ids=["control", "attack"])
def test_fins_sprayed_around_the_next_expected_offset_do_not_end_the_stream(attack: bool) -> None:
    net = Net(ChannelConfig(min_receivers=1), seed=22)
    target = net.add_receiver(capture=True)
    data = random.Random(7).randbytes(1_000_000)
    net.paced_write(data, chunk=50_000, every=0.05)
    hole = 300_000  # the first DATA segment at or after this offset never reaches the target
    lost: list[int] = []

    def lose(datagram: bytes) -> bool:
        packet = decode(datagram)
        if not lost and packet.type is PacketType.DATA and packet.seq >= hole and packet.payload:
            lost.append(packet.seq)
            net.at(net.now + 0.003, spray)  # while the hole is open and data waits above it
            return True
        return False

    sprayed: list[int] = []

    def spray() -> None:
        expected = target.receiver.rcv_nxt
        assert expected == lost[0], "the hole closed before the spray"
        assert target.receiver.window < target.receiver.config.receive_buffer, "no data waits above the hole"
        if attack:
            connection = forge.connection_of(target.sent)
            for seq in range(expected - 200, expected + 200):
                net.deliver_to(target, forge.fin(connection, seq), SERVER)
        sprayed.append(expected)

    target.drop = lose
    net.run(until=30.0, stop=net.finished)
    assert sprayed, "the hole never opened"
    assert (target.reset, target.length) == (None, len(data)), f"400 FINs ended the stream at {target.length}"
    assert target.sha256 == sha256(data)


def connection_ids(seed: int, receivers: int = 64) -> list[int]:
    """The connection ids that ``receivers`` real receivers use, read from their ACKs."""
    net = Net(ChannelConfig(admission="continuous", min_receivers=0), seed=seed)
    peers = [net.add_receiver(capture=True) for _ in range(receivers)]
    net.run(until=2.0)
    return [forge.connection_of(p.sent) for p in peers]


def test_connection_ids_are_64_bit_and_come_from_the_injected_generator() -> None:
    ids = connection_ids(seed=23)
    assert len(set(ids)) == len(ids)
    assert connection_ids(seed=23) == ids  # the same seeds give the same ids: no other randomness
    assert set(connection_ids(seed=24)).isdisjoint(ids)
    widest = max(ids).bit_length()
    assert widest > 32, f"the largest of {len(ids)} connection ids has {widest} bits"


# --- on the real network --------------------------------------------------------------------


@pytest.mark.root
@pytest.mark.network
def test_an_rst_sent_to_the_group_is_never_honoured() -> None:
    """Loopback: an on-path attacker reads a receiver's ACK (connection id and the exact
    sequence), then multicasts an RST from the source's address. Every receiver sees it."""
    net = loopback()
    first, second = payload(200_000, seed=1), payload(200_000, seed=2)

    async def main() -> bytes:
        with forge.LoopbackSniffer() as sniffer:
            async with (
                smocast.open_channel(net.group, net.server, min_receivers=1, secure=False) as channel,
                smocast.connect(net.server, net.group, linger=0.1, secure=False) as rx,
            ):  # the plain protocol's own defence (the secure mode drops any unsealed RST)
                await channel.send(first)
                got = await rx.readexactly(len(first))
                await asyncio.sleep(0.3)  # the receiver's last ACK is out; nothing moves now
                acks = [
                    packet
                    for source, destination, raw in sniffer.drain()
                    if source == rx.local_address and destination == net.server
                    for packet in forge.decoded([raw])
                    if packet.type is PacketType.ACK
                ]
                assert acks, "no ACK seen on the loopback"
                last = acks[-1]
                assert rx.start is not None and last.ack == rx.start + len(first)  # the exact expected sequence
                forged = forge.rst(last.connection, seq=last.ack, reason=b"forged to the group")
                forge.send_spoofed(forged, net.server, net.group)
                await asyncio.sleep(0.3)
                seen = [raw for _, destination, raw in sniffer.drain() if destination == net.group]
                assert forged in seen, "the forged RST never reached the loopback"  # else this would pass unattacked
                await channel.send(second)
                channel.close()
                rest = b"".join([chunk async for chunk in rx])
        return got + rest

    assert run(main()) == first + second
