"""The batched input paths equal their one-datagram twins, so the two cannot drift apart.

* the wire: ``plain_data_fields`` against ``decode``; ``plain_ack_fields`` on a view as on bytes;
* the receiver: ``receive_datagrams`` on a batch of views against ``receive_datagram`` on each
  datagram as bytes, over seeded streams of in-order, reordered, duplicated, repaired, empty,
  foreign and malformed datagrams cut into batches at random places.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import (
    DATA_HEADER_SIZE,
    FLAG_AUTH,
    FLAG_MSG_START,
    MAX_STREAM_OFFSET,
    DecodeError,
    Packet,
    PacketType,
    decode,
    encode,
    encode_ack,
    encode_data,
    plain_ack_fields,
    plain_data_fields,
)

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
SERVER = ("192.0.2.1", 5000)

# --- the wire ----------------------------------------------------------------------------------


@given(
    channel=u32,
    seq=st.integers(0, MAX_STREAM_OFFSET),
    tsval=u32,
    flags=st.sampled_from([0, FLAG_MSG_START]),
    every=st.integers(0, 255),
    payload=st.binary(min_size=1, max_size=1500),
)
def test_plain_data_fields_agree_with_decode_on_every_plain_data_packet(
    channel: int, seq: int, tsval: int, flags: int, every: int, payload: bytes
) -> None:
    data, _ = encode_data(
        PacketType.DATA,
        channel=channel,
        seq=seq,
        tsval=tsval,
        flags=flags,
        ack_every=every,
        payload=payload,
    )
    packet = decode(data)
    for form in (data, memoryview(bytearray(data))):
        assert plain_data_fields(form) == (packet.channel, packet.seq, packet.tsval, packet.flags, packet.ack_every)
        assert bytes(form[DATA_HEADER_SIZE:]) == packet.payload


@settings(max_examples=400)
@given(data=st.binary(min_size=0, max_size=DATA_HEADER_SIZE + 40), form=st.sampled_from([0x80, 0x82, 0x83, 0x90, 3]))
def test_plain_data_fields_accept_nothing_decode_would_not_call_plain_data(data: bytes, form: int) -> None:
    if data:
        data = bytes([form]) + data[1:]  # often a DATA form, so the check is exercised
    fields = plain_data_fields(data)
    if fields is None:
        return
    packet = decode(data)  # a plain DATA packet always decodes
    assert packet.type is PacketType.DATA and not packet.sack and not packet.trailer and packet.payload
    assert not packet.flags & FLAG_AUTH
    assert fields == (packet.channel, packet.seq, packet.tsval, packet.flags, packet.ack_every)


def test_plain_data_fields_refuse_each_kind_of_packet_the_fast_path_must_not_take() -> None:
    base = Packet(PacketType.DATA, 1, 0, 10, tsval=1, payload=b"x" * 10)
    refused = [
        base._replace(type=PacketType.REPAIR),
        base._replace(payload=b""),  # a heartbeat
        base._replace(type=PacketType.UPDATA),  # a receiver's own stream, under the full header
    ]
    for packet in refused:
        assert plain_data_fields(encode(packet)) is None
    good = encode(base)
    assert plain_data_fields(bytes([good[0] | FLAG_AUTH]) + good[1:]) is None  # decode refuses it too
    assert plain_data_fields(good) is not None


@given(channel=u32, connection=u64, ack=u64, window=u32, tsval=u32, tsecr=u32)
def test_plain_ack_fields_read_a_view_as_they_read_bytes(
    channel: int, connection: int, ack: int, window: int, tsval: int, tsecr: int
) -> None:
    data, _ = encode_ack(channel=channel, connection=connection, ack=ack, window=window, tsval=tsval, tsecr=tsecr)
    assert plain_ack_fields(memoryview(bytearray(data))) == plain_ack_fields(data) is not None


def test_decode_of_a_view_copies_what_it_keeps() -> None:
    buffer = bytearray(encode(Packet(PacketType.DATA, 1, 0, 10, tsval=1, payload=b"abc")))
    packet = decode(memoryview(buffer))
    buffer[:] = bytes(len(buffer))
    assert packet.payload == b"abc"
    with pytest.raises(DecodeError):
        decode(memoryview(buffer))  # zeroes are version 0: refused, with the one error


# --- the receiver's batch entry ------------------------------------------------------------------


def _connected(config: ReceiverConfig) -> Receiver:
    rx = Receiver(SERVER, config, random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    rx.next_event()
    return rx


def _stream(seed: int, count: int, mss: int, reorder: bool, late: bool = False) -> list[bytes]:
    """Datagrams a receiver might read from the group: mostly in order, some duplicated, repaired,
    empty (heartbeats), of another channel, or garbage; with ``reorder``, some swapped; with
    ``late``, some lost and repaired after the rest (the stream goes on above each hole)."""
    rng = random.Random(seed)
    out: list[bytes] = []
    repaired_later: list[bytes] = []
    seq = 0
    for i in range(count):
        payload = bytes([i % 256]) * rng.choice([mss, mss, mss, mss // 3 + 1])
        kind = PacketType.REPAIR if rng.random() < 0.05 else PacketType.DATA
        flags = FLAG_MSG_START if rng.random() < 0.2 else 0
        packet = Packet(kind, 1, 0, seq, tsval=i, flags=flags, ack_every=rng.choice([0, 2, 4]), payload=payload)
        if late and rng.random() < 0.05:
            repaired_later.append(encode(packet._replace(type=PacketType.REPAIR)))
            seq += len(payload)
            continue
        out.append(encode(packet))
        roll = rng.random()
        if roll < 0.05:
            out.append(encode(packet))  # a duplicate
        elif roll < 0.08:
            out.append(encode(Packet(PacketType.DATA, 1, 0, seq + len(payload), tsval=i)))  # a heartbeat
        elif roll < 0.10:
            out.append(encode(packet._replace(channel=2)))  # another channel
        elif roll < 0.12:
            out.append(rng.randbytes(rng.randrange(0, 80)))  # garbage
        seq += len(payload)
    for _ in range(count // 10 if reorder else 0):
        a, b = rng.randrange(len(out)), rng.randrange(len(out))
        out[a], out[b] = out[b], out[a]
    return out + repaired_later


def _merged(events: list[object]) -> list[object]:
    """Events with contiguous DataReceived chunks joined (a batch delivers a run as one chunk)."""
    out: list[object] = []
    for event in events:
        last = out[-1] if out else None
        if (
            isinstance(event, ev.DataReceived)
            and isinstance(last, ev.DataReceived)
            and last.offset + len(last.data) == event.offset
        ):
            out[-1] = ev.DataReceived(last.offset, last.data + event.data)
        else:
            out.append(event)
    return out


def _drain(rx: Receiver, consume: bool) -> list[object]:
    out: list[object] = []
    while (event := rx.next_event()) is not None:
        if consume and isinstance(event, ev.DataReceived | ev.MessageReceived):
            rx.consumed(len(event.data))
        out.append(event)
    return out


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 20), min_size=1, max_size=40),
    framing=st.booleans(),
    small_buffer=st.booleans(),
    consume=st.booleans(),
    reorder=st.booleans(),
    late=st.booleans(),
)
def test_a_batch_equals_its_datagrams_one_by_one(
    seed: int, cuts: list[int], framing: bool, small_buffer: bool, consume: bool, reorder: bool, late: bool
) -> None:
    """Same ACKs after every batch, same bytes at the same offsets, same counters and window;
    and the batch's views may be overwritten after the call (nothing keeps them)."""
    mss = 100
    config = ReceiverConfig(framing=framing, receive_buffer=4096 if small_buffer else 1 << 20, source_timeout=5.0)
    batched, single = _connected(config), _connected(config)
    stream = _stream(seed, 120, mss, reorder, late)
    got_batched: list[object] = []
    got_single: list[object] = []
    at, step = 0, 0
    while at < len(stream):
        size = cuts[step % len(cuts)]
        chunk = stream[at : at + size]
        now = 0.02 + step * 0.003
        buffer = bytearray(b"".join(chunk))
        views, offset = [], 0
        for data in chunk:
            views.append((memoryview(buffer)[offset : offset + len(data)], SERVER))
            offset += len(data)
        batched.receive_datagrams(views, now, via_group=True)
        buffer[:] = bytes(len(buffer))  # the runtime reuses its buffer
        for data in chunk:
            single.receive_datagram(data, SERVER, now, via_group=True)
        assert [d.packet for d in batched.datagrams_to_send(now)] == [d.packet for d in single.datagrams_to_send(now)]
        got_batched += _drain(batched, consume)
        got_single += _drain(single, consume)
        assert batched.next_deadline() == single.next_deadline()
        at, step = at + size, step + 1
    for rx in (batched, single):  # the delayed ACK goes out: the silence deadline (last heard) is left
        rx.handle_timer(now + 1.0)
        rx.datagrams_to_send(now + 1.0)
    assert batched.next_deadline() == single.next_deadline()
    assert _merged(got_batched) == _merged(got_single)
    assert batched.stats == single.stats
    assert (batched.rcv_nxt, batched.window, batched.state) == (single.rcv_nxt, single.window, single.state)
    if not framing and not small_buffer:
        assert batched.stats.bytes_delivered > 0  # the fast path ran, and delivered
