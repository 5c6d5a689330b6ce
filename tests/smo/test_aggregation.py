"""The master's incremental aggregation equals the brute-force answer, for every policy.

Random runs of ACKs, receiver departures and sends; after every step the channel's window
edge, buffer base and smallest right edge are recomputed from scratch and compared.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.smo.channel import Channel
from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig
from smocast.smo.events import DropReason, ReceiverDropped
from smocast.smo.policies import WindowPolicy
from smocast.smo.standin import validated_syn
from smocast.wire import Packet, PacketType, decode

MSS = 100


def addr(i: int) -> tuple[str, int]:
    return (f"10.9.0.{i + 1}", 9000)


class Model:
    """What the channel was told, kept naively."""

    def __init__(self, n: int) -> None:
        self.una = dict.fromkeys(range(n), 0)
        self.removed: set[int] = set()
        self.segments: list[tuple[int, int, frozenset[int]]] = []  # start, end, live when sent

    def live(self) -> frozenset[int]:
        return frozenset(i for i in self.una if i not in self.removed)

    def acks(self, end: int, live_at_send: frozenset[int]) -> int:
        return sum(1 for c in live_at_send if c in self.removed or self.una[c] >= end)

    def edge(self, policy: WindowPolicy, snd_nxt: int) -> int:
        for start, end, live in self.segments:
            if self.acks(end, live) < policy.acks_needed(len(live)):
                return start
        return snd_nxt

    def base(self, policy: WindowPolicy, snd_nxt: int) -> int:
        edge = self.edge(policy, snd_nxt)
        for start, end, live in self.segments:
            if start >= edge or self.acks(end, live) < len(live):
                return start
        return snd_nxt


def build(n: int, policy: str) -> Channel:
    config = ChannelConfig(
        mss=MSS,
        min_receivers=n,
        pacing=False,
        window_policy=WindowPolicy.parse(policy),
        max_window=1 << 20,
        retain_limit=1 << 20,
    )
    channel = Channel(("232.0.0.1", 1), config, random.Random(0))
    for i in range(n):
        validated_syn(channel, Packet(PacketType.SYN, 1, i + 1, tsval=5), addr(i), 1.0)
    channel.datagrams_to_send(1.0)
    for i in range(n):
        channel.receive_packet(Packet(PacketType.ACK, 1, i + 1, window=1 << 20), addr(i), 1.0)
    return channel


def right_edge_brute(channel: Channel) -> int | None:
    members = channel._members
    children: list[Child] = [c for c in members if c.established and members.is_pacing(c)]
    if not children:
        return None
    return min(c.una + min(c.sacked.total + c.cc.cwnd, c.rwnd) for c in children)


@settings(max_examples=120, deadline=None)
@given(
    n=st.integers(1, 8),
    policy=st.sampled_from(["slowest", "quorum:0.5", "quorum:0.75", "quorum:1"]),
    ops=st.lists(
        st.tuples(st.sampled_from(["ack", "ack", "ack", "drop", "write"]), st.integers(0, 50), st.integers(1, 6)),
        max_size=60,
    ),
)
def test_window_edge_and_base_match_brute_force(n: int, policy: str, ops: list[tuple[str, int, int]]) -> None:
    channel = build(n, policy)
    parsed = WindowPolicy.parse(policy)
    model = Model(n)
    now = 1.0

    def send() -> None:
        for datagram in channel.datagrams_to_send(now):
            packet = decode(datagram.data)
            if packet.type is PacketType.DATA:
                model.segments.append((packet.seq, packet.seq + len(packet.payload), model.live()))

    channel.write(bytes(10 * MSS))
    send()
    for op, who, amount in ops:
        now += 0.001
        live = sorted(model.live())
        if op == "write":
            channel.write(bytes(amount * MSS))
        elif op == "ack" and live:
            i = live[who % len(live)]
            model.una[i] = min(channel.snd_nxt, model.una[i] + amount * MSS)
            ack = Packet(PacketType.ACK, 1, i + 1, ack=model.una[i], window=1 << 20)
            channel.receive_packet(ack, addr(i), now)
        elif op == "drop" and live:
            i = live[who % len(live)]
            channel.receive_packet(Packet(PacketType.RST, 1, i + 1), addr(i), now)
            model.removed.add(i)
        send()
        assert channel.window_edge == model.edge(parsed, channel.snd_nxt)
        assert channel.buffer_base == model.base(parsed, channel.snd_nxt)
        assert channel.smallest_right_edge == right_edge_brute(channel)
        assert channel.live == len(model.live())


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 6), limit_segments=st.integers(3, 12), acks=st.lists(st.integers(0, 5), max_size=40))
def test_buffer_policy_never_holds_more_than_its_limit(n: int, limit_segments: int, acks: list[int]) -> None:
    channel = build(n, f"buffer:{limit_segments * MSS}")
    una = [0] * n
    channel.write(bytes(60 * MSS))
    channel.datagrams_to_send(1.0)
    for step, who in enumerate(acks):
        i = who % n
        if i == 0:
            continue  # receiver 0 never acks: it must not hold the buffer beyond the limit
        una[i] = channel.snd_nxt
        now = 1.0 + step * 0.01
        channel.receive_packet(Packet(PacketType.ACK, 1, i + 1, ack=una[i], window=1 << 20), addr(i), now)
        channel.datagrams_to_send(now)
        assert channel.snd_nxt - channel.buffer_base <= limit_segments * MSS
        assert channel.window_edge >= channel.buffer_base
    base = channel.buffer_base
    channel.handle_timer(2.0)  # the sweep resets whoever needs data no longer held
    dropped = [e for e in iter(channel.next_event, None) if isinstance(e, ReceiverDropped)]
    assert {(d.address, d.reason) for d in dropped} == {
        (addr(i), DropReason.FELL_BEHIND) for i in range(n) if una[i] < base
    }
    assert base == 0 or addr(0) in {d.address for d in dropped}
