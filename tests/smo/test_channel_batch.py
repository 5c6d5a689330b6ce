"""The source's batched input equals decoding each datagram whole, so the per-ACK loop cannot drift.

``Channel.receive_datagrams`` unpacks plain ACKs in its own loop; its twin here decodes every
datagram with ``decode`` and hands the packet to ``receive_packet``. Over seeded streams of plain ACKs, ACKs with SACK
blocks, duplicates, ACKs of unknown connections, of another channel, stale and future ACKs and
malformed bytes, cut into batches at random places, both channels must send the same, report
the same events and counters, and hold every receiver in the same state.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.datagram import Address
from smocast.core.timestamps import timestamp
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig
from smocast.smo.standin import validated_syn
from smocast.wire import DecodeError, Packet, PacketType, decode, encode

GROUP: Address = ("232.1.1.1", 5000)
CHANNEL_ID = 1
RECEIVERS = 6
MSS = 1400


def _peer(i: int) -> tuple[Address, int]:
    return (f"10.0.0.{i + 1}", 40000), i + 1


def _channel() -> Channel:
    config = ChannelConfig(channel_id=CHANNEL_ID, min_receivers=RECEIVERS, max_window=40 * MSS, mss=MSS)
    channel = Channel(GROUP, config, random.Random(1))
    for i in range(RECEIVERS):
        address, conn = _peer(i)
        validated_syn(channel, Packet(PacketType.SYN, CHANNEL_ID, conn, tsval=1), address, 0.0)
    channel.datagrams_to_send(0.0)
    for i in range(RECEIVERS):
        address, conn = _peer(i)
        channel.receive_packet(Packet(PacketType.ACK, CHANNEL_ID, conn, window=1 << 20), address, 0.001)
    channel.write(bytes(200 * MSS))
    channel.datagrams_to_send(0.001)
    return channel


def _ack(conn: int, ack: int, *, channel: int = CHANNEL_ID, sack: tuple[tuple[int, int], ...] = ()) -> bytes:
    packet = Packet(PacketType.ACK, channel, conn, ack=ack, window=1 << 20, tsecr=timestamp(0.0005), sack=sack)
    return encode(packet)


def _stream(seed: int, count: int) -> list[tuple[bytes, Address]]:
    """ACKs that move each receiver forward, mixed with every kind the fast path must refuse."""
    rng = random.Random(seed)
    acked = [0] * RECEIVERS
    out: list[tuple[bytes, Address]] = []
    for _ in range(count):
        i = rng.randrange(RECEIVERS)
        address, conn = _peer(i)
        kind = rng.random()
        if kind < 0.55:
            acked[i] += MSS * rng.randint(1, 2)
            out.append((_ack(conn, acked[i]), address))
        elif kind < 0.65:  # a hole: later data SACKed
            out.append((_ack(conn, acked[i], sack=((acked[i] + MSS, acked[i] + 3 * MSS),)), address))
        elif kind < 0.72:
            out.append((_ack(conn, acked[i]), address))  # a duplicate
        elif kind < 0.77:
            out.append((_ack(conn + 100, acked[i]), address))  # a connection nobody opened
        elif kind < 0.82:
            out.append((_ack(conn, acked[i] + MSS, channel=CHANNEL_ID + 1), address))  # another channel
        elif kind < 0.87:
            out.append((_ack(conn, acked[i]), ("10.9.9.9", 40000)))  # the right connection, another address
        elif kind < 0.92:
            out.append((_ack(conn, 10**9), address))  # beyond anything sent
        elif kind < 0.96:
            out.append((rng.randbytes(rng.randint(0, 60)), address))  # noise, sometimes header-sized
        else:
            data = bytearray(_ack(conn, acked[i] + MSS))
            data[-4] = 1  # a header-sized ACK that claims a payload
            out.append((bytes(data), address))
    return out


def _snapshot(channel: Channel) -> object:
    events = []
    while (event := channel.next_event()) is not None:
        events.append(repr(event))
    return (repr(channel.stats), [repr(r) for r in channel.receivers()], events, channel.snd_nxt)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), cuts=st.lists(st.integers(1, 24), min_size=1, max_size=20))
def test_a_batch_at_the_source_equals_its_datagrams_one_by_one(seed: int, cuts: list[int]) -> None:
    batched, single = _channel(), _channel()
    stream = _stream(seed, 240)
    at, step = 0, 0
    while at < len(stream):
        chunk = stream[at : at + cuts[step % len(cuts)]]
        now = 0.002 + step * 0.001
        buffer = bytearray(b"".join(data for data, _ in chunk))
        views, offset = [], 0
        for data, source in chunk:
            views.append((memoryview(buffer)[offset : offset + len(data)], source))
            offset += len(data)
        batched.receive_datagrams(views, now)
        buffer[:] = bytes(len(buffer))  # the runtime reuses its buffer: nothing may keep a view
        for data, source in chunk:
            try:
                packet = decode(data)
            except DecodeError:
                single.stats.malformed += 1  # what the channel counts for bytes it cannot decode
                continue
            single.receive_packet(packet, source, now)
        sent_batched = [(d.data, d.destination) for d in batched.datagrams_to_send(now)]
        assert sent_batched == [(d.data, d.destination) for d in single.datagrams_to_send(now)]
        assert _snapshot(batched) == _snapshot(single)
        at, step = at + len(chunk), step + 1
    assert batched.stats.acks_processed > 0 and batched.stats.malformed > 0
