"""Memory bounded whatever arrives (issue 10, section 3).

Measured on main before the defence: the receiver bounded the *union* of the ranges it
held, but stored every overlapping payload (310 MiB of overlapping segments raised
``smocast recv`` from 43 to 353 MiB); any joined receiver grew the source the same way
through UPDATA reassembly; an in-order UPDATA announcing a 4 GiB message grew it without
bound. Each test samples the growth as the attack goes and stops at the first excess;
``-rP`` prints the largest growth sampled.

The defences: the reassembly buffer stores each byte once (overlaps trimmed to what is new,
small neighbouring pieces merged, a bounded number of separate ranges); at the source, each
receiver's up-stream holds at most its window out of order and one message of at most
``session_message_limit`` bytes (a longer one drops the receiver as ``message-too-large``),
and all up-streams together at most ``session_limit`` bytes.
"""

from __future__ import annotations

import struct

from tests.attacks import forge
from tests.attacks.memory import MIB, Growth, mib
from tests.attacks.net import SERVER, Net, Peer

from smocast.smo import ChannelConfig, ReceiverConfig
from smocast.smo import events as ev
from smocast.wire import Packet, PacketType, encode

RECEIVE_BUFFER = 1 * MIB
RECEIVER_CONSTANT = 2 * MIB  # receiver: growth <= its receive buffer + this, whatever is sent to it
UP_PER_RECEIVER = 4 * MIB  # source: what one receiver's up-stream may make it hold
UP_TOTAL = 16 * MIB  # source: what all receivers' up-streams together may make it hold
SACK_PER_RECEIVER = MIB // 2  # source: what one receiver's SACK blocks may make it hold
UP_PAYLOAD = 60_000  # large UPDATA payloads: the cheapest way to push bytes at the source


def test_overlapping_segments_are_stored_once() -> None:
    net = Net(ChannelConfig(admission="continuous", min_receivers=0), seed=31)
    target = net.add_receiver(config=ReceiverConfig(receive_buffer=RECEIVE_BUFFER))
    net.channel.write(bytes(10_000))
    net.run(until=1.0)
    hole = target.receiver.rcv_nxt  # never filled: everything above it is held
    segments, payload = 24_000, bytes(1400)  # each overlaps the previous but for one new byte
    bound = RECEIVE_BUFFER + RECEIVER_CONSTANT
    with Growth() as growth:
        for k in range(segments):
            net.deliver_to(target, forge.data(hole + 1 + k, payload), SERVER)
            net.advance(0.0001)  # 110 Mbit/s of attack
            if k % 2000 == 1999:
                grown = growth.sample()
                assert grown <= bound, f"the receiver grew by {mib(grown)} after {(k + 1) * 1400 / MIB:.0f} MiB sent"
    assert target.reset is None and target.receiver.rcv_nxt == hole


def joined_attackers(count: int, seed: int) -> tuple[Net, list[tuple[Peer, int]]]:
    """A channel and ``count`` receivers that joined it honestly, now in an attacker's hands
    (their connection ids, read from their own ACKs)."""
    net = Net(ChannelConfig(admission="continuous", min_receivers=0), seed=seed)
    peers = [net.add_receiver(capture=True) for _ in range(count)]
    net.channel.write(bytes(10_000))
    net.run(until=1.0)
    assert len(net.of(ev.ReceiverJoined)) == count
    attackers = []
    for peer in peers:
        attackers.append((peer, forge.connection_of(peer.sent)))
        peer.frozen, peer.capture = True, False
    return net, attackers


def test_overlapping_updata_is_bounded_per_receiver_and_in_total() -> None:
    net, attackers = joined_attackers(32, seed=32)
    payload = bytes(UP_PAYLOAD)
    with Growth() as growth:
        for n, (peer, connection) in enumerate(attackers, start=1):
            # offset 0 never arrives; each segment overlaps the previous but for one new byte
            for k in range(160):  # 9.6 MB of payload per attacker
                net.deliver_now(forge.updata(connection, 1 + k, payload), peer.address)
                net.advance(0.001)
                if k % 20 == 19:
                    grown, sent = growth.sample(), ((n - 1) * 160 + k + 1) * UP_PAYLOAD
                    assert grown <= UP_TOTAL, f"the source grew by {mib(grown)} after {mib(sent)} from {n} receivers"
                    if n == 1:
                        assert grown <= UP_PER_RECEIVER, f"one receiver's {mib(sent)} grew the source by {mib(grown)}"


def test_an_updata_announcing_a_4_gib_message_is_refused_with_a_reason() -> None:
    net, [(peer, connection)] = joined_attackers(1, seed=33)
    peer.capture = True  # what the source answers at its address
    offset, sent = 0, 0
    with Growth() as growth:
        first = struct.pack("!I", 0xFFFF_FFFF) + bytes(UP_PAYLOAD - 4)  # a 4 GiB message starts here
        segment = forge.updata(connection, 0, first, message_start=True)
        while sent < 64 * MIB and not (sent % (16 * UP_PAYLOAD) == 0 and refusal(net, peer)):
            net.deliver_now(segment, peer.address)
            net.advance(0.001)
            offset += UP_PAYLOAD
            sent += UP_PAYLOAD
            segment = forge.updata(connection, offset, bytes(UP_PAYLOAD))
            grown = growth.sample()
            assert grown <= UP_PER_RECEIVER, f"the source grew by {mib(grown)} after {mib(sent)} of one message"
    assert refusal(net, peer), f"{mib(sent)} of a 4 GiB message taken without a word"


def refusal(net: Net, peer: Peer) -> str | None:
    """Why the source refused ``peer``: an RST with a reason sent to it, or its drop event."""
    for packet in forge.decoded(peer.inbox):
        if packet.type is PacketType.RST and packet.payload:
            return packet.payload.decode("utf-8", "replace")
    for event in net.of(ev.ReceiverDropped):
        if event.address == peer.address:
            return f"{event.reason}: {event.detail}"
    return None


def test_partial_session_messages_are_bounded_in_total() -> None:
    """Each of 32 joined receivers starts a message of the largest size allowed and never
    finishes it: each may hold ``session_message_limit`` at the source, but not all at once."""
    net, attackers = joined_attackers(32, seed=34)
    limit = net.config.session_message_limit
    header = struct.pack("!I", limit)
    with Growth() as growth:
        for n, (peer, connection) in enumerate(attackers, start=1):
            offset = 0
            while offset < limit - UP_PAYLOAD:  # one message, all but its last segment
                payload = (header if offset == 0 else b"") + bytes(UP_PAYLOAD)
                net.deliver_now(forge.updata(connection, offset, payload, message_start=offset == 0), peer.address)
                offset += len(payload)
            net.advance(0.001)
            grown = growth.sample()
            assert grown <= UP_TOTAL, f"the source grew by {mib(grown)} after {n} unfinished messages of {mib(limit)}"
    assert not net.of(ev.ReceiverDropped), "a message within the limit got its receiver dropped"


def test_sack_blocks_that_split_the_scoreboard_are_bounded() -> None:
    """A joined receiver reports one-byte SACK blocks two bytes apart, four an ACK: the source's
    scoreboard for it would keep one range per block, about 80 bytes each (and walk them all
    on every later ACK). Bounded, it keeps as many ranges as a receiver may hold."""
    net = Net(ChannelConfig(min_receivers=1), seed=35)
    peer = net.add_receiver(capture=True)
    net.channel.write(bytes(64 * 1024))
    net.run(until=2.0)  # honest while the stream starts
    connection = forge.connection_of(peer.sent)
    peer.frozen, peer.capture = True, False
    una = peer.receiver.rcv_nxt
    net.channel.write(bytes(64 * 1024))
    net.advance(0.05)  # data goes out that it will never acknowledge
    acks = 1500
    assert net.channel.snd_nxt - una > 8 * acks, "the scenario leaves too little outstanding to split"
    with Growth() as growth:
        for k in range(acks):
            base = una + 1 + 8 * k
            sack = tuple((base + 2 * j, base + 2 * j + 1) for j in range(4))
            ack = Packet(PacketType.ACK, forge.CHANNEL, connection, ack=una, window=1 << 20, sack=sack)
            net.deliver_now(encode(ack), peer.address)
            if k % 250 == 249:
                grown, blocks = growth.sample(), 4 * (k + 1)
                assert grown <= SACK_PER_RECEIVER, f"grew {grown // 1024:,} KiB after {blocks:,} SACK blocks"
