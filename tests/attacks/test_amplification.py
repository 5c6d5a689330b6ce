"""Amplification and replay before the address is validated (issue 10, section 1).

Measured on main before the defence: one 44-byte SYN during admission drew six SYN-ACKs and
an RST, 325 bytes (7.4x). QUIC allows 3x before the address is validated.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial

import pytest
from tests.attacks import forge
from tests.attacks.net import Net

from smocast.core.datagram import Address, Datagram
from smocast.smo import ChannelConfig
from smocast.smo import events as ev
from smocast.wire import PacketType

AMPLIFICATION = 3.0  # bytes sent to an unvalidated address per byte received from it
VICTIM: Address = ("203.0.113.7", 4444)  # the address the attacker spoofs: it never answers


@dataclass
class Reflected:
    """What the channel sent to the victim."""

    datagrams: int = 0
    bytes: int = 0

    def __call__(self, datagram: Datagram) -> None:
        if datagram.destination == VICTIM:
            self.datagrams += 1
            self.bytes += len(datagram.data)


def channel_in(state: str) -> tuple[Net, float]:
    """A channel waiting for receivers, in a transfer, or continuous; and when to attack it."""
    if state == "admission":
        net = Net(ChannelConfig(min_receivers=2), seed=11)
        net.add_receiver()  # one of two joined: admission goes on
        net.channel.write(bytes(100_000))
        return net, 1.0
    if state == "transfer":
        net = Net(ChannelConfig(min_receivers=1), seed=12)
        net.add_receiver()
        net.channel.write(bytes(3_000_000))
        return net, 0.1
    net = Net(ChannelConfig(admission="continuous", min_receivers=0), seed=13)
    net.add_receiver()
    net.channel.write(bytes(100_000))
    return net, 1.0


def amplification_of(state: str, syns: int) -> tuple[float, int]:
    """(bytes sent to the victim / bytes of the forged SYNs, datagrams sent to it)."""
    net, at = channel_in(state)
    reflected = Reflected()
    net.on_stray = reflected
    syn = forge.syn(0x5EED)
    for k in range(syns):
        net.at(at + 2.0 * k, lambda: net.deliver_now(syn, VICTIM))
    net.run(until=at + 2.0 * syns + 30.0)
    return reflected.bytes / (syns * len(syn)), reflected.datagrams


@pytest.mark.parametrize(
    "state",
    [
        "admission",  # before the defence: 7.4x (six SYN-ACKs and an RST)
        "transfer",  # before the defence: one RST with a short reason, 2.1x
        "continuous",
    ],
)
def test_one_spoofed_syn_draws_at_most_3x_its_size_once(state: str) -> None:
    ratio, replies = amplification_of(state, syns=1)
    assert ratio <= AMPLIFICATION, f"{ratio:.1f}x the SYN's bytes sent to the spoofed address"
    assert replies <= 1, f"one SYN answered {replies} times"


@pytest.mark.parametrize("state", ["admission", "continuous"])
def test_repeated_spoofed_syns_each_draw_at_most_one_small_answer(state: str) -> None:
    ratio, replies = amplification_of(state, syns=5)
    assert ratio <= AMPLIFICATION, f"{ratio:.1f}x the SYNs' bytes sent to the spoofed address"
    assert replies <= 5, f"five SYNs answered {replies} times"


def test_a_handshake_replayed_ten_minutes_later_creates_no_receiver() -> None:
    net = Net(ChannelConfig(admission="continuous", min_receivers=0), seed=14)
    peer = net.add_receiver(capture=True)
    net.channel.write(random.Random(5).randbytes(200_000))
    net.at(2.0, lambda: peer.receiver.close(net.now))
    net.run(until=3.0)
    assert [type(e) for e in net.source_events[:1]] == [ev.ReceiverJoined]
    assert net.channel.receivers() == []  # it left
    handshake = [d.data for d in peer.sent if forge.decoded([d])[0].type is PacketType.SYN]
    assert handshake, "the receiver sent no SYN"
    peer.frozen = True  # from now on, only the attacker speaks from its address
    for k, syn in enumerate(handshake):
        net.at(600.0 + 0.01 * k, partial(net.deliver_now, syn, peer.address))
    net.run(until=602.0)
    assert net.channel.receivers() == [], "a replayed handshake made the source hold state"
    assert not [e for e in net.source_events if isinstance(e, ev.ReceiverJoined) and e.at >= 600.0]
