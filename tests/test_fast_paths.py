"""Every hand-written fast path equals its general twin, so the two cannot drift apart.

* the wire: ``plain_ack_fields`` against ``decode``; ``encode_data``/``encode_ack`` against ``encode``;
* the RTT estimator's one update path against RFC 6298 written out plainly;
* the receiver's in-order shortcut against its general data path;
* the source's plain-ACK shortcut against its general ACK path, over whole transfers.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smocast.core.rtt import RTO_ALPHA, RTO_BETA, RTO_K, RtoSettings, RttEstimator
from smocast.core.timestamps import elapsed_since
from smocast.smo import events as ev
from smocast.smo.child import Child
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import (
    FLAG_MSG_START,
    HEADER_SIZE,
    MAX_STREAM_OFFSET,
    Packet,
    PacketType,
    decode,
    delay_sample,
    encode,
    encode_ack,
    encode_data,
    plain_ack_fields,
)
from tests.fakenet import FakeNet, Terrible

u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
blocks = st.lists(st.tuples(st.integers(0, 2**40), st.integers(1, 2**20)), max_size=4).map(
    lambda bs: tuple((start, start + length) for start, length in bs)
)

# --- the wire ----------------------------------------------------------------------------------


@given(channel=u32, connection=u32, ack=u64, window=u32, tsval=u32, tsecr=u32, sack=blocks)
def test_encode_ack_is_encode(
    channel: int, connection: int, ack: int, window: int, tsval: int, tsecr: int, sack: tuple[tuple[int, int], ...]
) -> None:
    data, packet = encode_ack(
        channel=channel, connection=connection, ack=ack, window=window, tsval=tsval, tsecr=tsecr, sack=sack
    )
    assert data == encode(packet)
    assert decode(data) == packet


@given(
    kind=st.sampled_from([PacketType.DATA, PacketType.REPAIR]),
    channel=u32,
    seq=st.integers(0, MAX_STREAM_OFFSET),
    tsval=u32,
    flags=st.sampled_from([0, FLAG_MSG_START]),
    ack_every=st.integers(0, 255),
    payload=st.binary(max_size=1500),
)
def test_encode_data_is_encode(
    kind: PacketType,
    channel: int,
    seq: int,
    tsval: int,
    flags: int,
    ack_every: int,
    payload: bytes,
) -> None:
    data, packet = encode_data(
        kind,
        channel=channel,
        seq=seq,
        tsval=tsval,
        flags=flags,
        ack_every=ack_every,
        payload=payload,
    )
    assert data == encode(packet)
    assert decode(data) == packet


@given(
    channel=u32, connection=u32, ack=u64, window=u32, tsval=u32, tsecr=u32, delay=st.none() | st.integers(0, 2**32 - 1)
)
def test_plain_ack_fields_agree_with_decode_on_every_plain_ack(
    channel: int, connection: int, ack: int, window: int, tsval: int, tsecr: int, delay: int | None
) -> None:
    data, built = encode_ack(
        channel=channel, connection=connection, ack=ack, window=window, tsval=tsval, tsecr=tsecr, delay=delay
    )
    packet = decode(data)
    assert packet == built
    fields = plain_ack_fields(data)
    assert fields == (packet.channel, packet.connection, packet.ack, packet.window, packet.tsecr, packet.seq)
    assert delay_sample(packet.seq) == delay  # the one-way delay sample rides in seq, or nothing does


@settings(max_examples=400)
@given(data=st.binary(min_size=HEADER_SIZE, max_size=HEADER_SIZE + 40))
def test_plain_ack_fields_accept_nothing_decode_would_not_call_a_plain_ack(data: bytes) -> None:
    fields = plain_ack_fields(data)
    if fields is None:
        return
    packet = decode(data)  # a plain ACK always decodes
    assert packet.type is PacketType.ACK and not packet.sack and not packet.payload and not packet.flags
    assert fields == (packet.channel, packet.connection, packet.ack, packet.window, packet.tsecr, packet.seq)


# --- RTT -----------------------------------------------------------------------------------


def rfc6298(samples: list[float], settings: RtoSettings) -> tuple[float, float, float]:
    """SRTT, RTTVAR and RTO after ``samples``, as RFC 6298 (2.2)-(2.5) says, with no shortcut."""
    srtt, rttvar = samples[0], samples[0] / 2
    for r in samples[1:]:
        rttvar = (1 - RTO_BETA) * rttvar + RTO_BETA * abs(srtt - r)
        srtt = (1 - RTO_ALPHA) * srtt + RTO_ALPHA * r
    rto = srtt + max(settings.granularity, RTO_K * rttvar)
    return srtt, rttvar, min(settings.maximum, max(settings.minimum, rto))


@given(samples=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=40), backoffs=st.integers(0, 4))
def test_the_estimator_is_rfc6298(samples: list[float], backoffs: int) -> None:
    settings = RtoSettings()
    estimator = RttEstimator(settings)
    for _ in range(backoffs):
        estimator.back_off()  # a valid sample must end any back-off (RFC 6298 (5.7))
    for sample in samples:
        assert estimator.on_sample(sample)
    assert not estimator.on_sample(1.0, covers_retransmission=True)  # Karn's rule
    srtt, rttvar, rto = rfc6298(samples, settings)
    assert estimator.srtt == pytest.approx(srtt, rel=1e-12, abs=1e-15)
    assert estimator.rttvar == pytest.approx(rttvar, rel=1e-12, abs=1e-15)
    assert estimator.rto == pytest.approx(rto, rel=1e-12, abs=1e-15)
    assert estimator.min_rtt == min(samples) and estimator.backoff == 1


@given(tsecr=u32, now=st.floats(0, 1e7))
def test_elapsed_since_is_the_wrapped_difference(tsecr: int, now: float) -> None:
    expected = ((int(now * 1_000_000) - tsecr) % 2**32) / 1_000_000
    assert elapsed_since(tsecr, now) == expected


# --- the receiver's in-order shortcut ----------------------------------------------------------

SERVER = ("192.0.2.1", 5000)


def _connected(config: ReceiverConfig) -> Receiver:
    rx = Receiver(SERVER, config, random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    rx.next_event()
    return rx


@settings(max_examples=150, deadline=None)
@given(
    order=st.permutations(list(range(12))),
    cut=st.integers(0, 12),
    framing=st.booleans(),
    every=st.integers(1, 4),
)
def test_the_in_order_shortcut_equals_the_general_path(order: list[int], cut: int, framing: bool, every: int) -> None:
    """A REPAIR takes the general path even when in order; as DATA the same bytes may take the
    shortcut. Delivered events and ACKs must be the same (only the repair counter differs, and
    the one-way delay sample an ACK after DATA carries in ``seq``: a repair is not one)."""
    config = ReceiverConfig(framing=framing)
    fast, general = _connected(config), _connected(config)
    segments = [(i * 100, bytes([i]) * 100) for i in range(12)]
    sequence = [segments[i] for i in sorted(order[:cut])] + [segments[i] for i in order[cut:]]
    for step, (seq, payload) in enumerate(sequence):
        now = 0.02 + step * 0.001
        flags = 2 if framing else 0
        for rx, kind in ((fast, PacketType.DATA), (general, PacketType.REPAIR)):
            packet = Packet(kind, 1, 0, seq, tsval=seq, flags=flags, ack_every=every, payload=payload)
            rx.receive_packet(packet, SERVER, now)
        fast_acks, general_acks = _acks(fast, now), _acks(general, now)
        assert [a._replace(seq=0) for a in fast_acks] == general_acks
        assert all(delay_sample(a.seq) == (int(now * 1e6) - seq) % 2**32 for a in fast_acks)
        assert _drain(fast) == _drain(general)
        assert fast.window == general.window


def _acks(rx: Receiver, now: float) -> list[Packet]:
    return [d.packet for d in rx.datagrams_to_send(now)]


def _drain(rx: Receiver) -> list[object]:
    out: list[object] = []
    while (event := rx.next_event()) is not None:
        if isinstance(event, ev.DataReceived | ev.MessageReceived):
            rx.consumed(len(event.data))
        out.append(event)
    return out


# --- the source's plain-ACK shortcut -------------------------------------------------------------


def _run(seed: int, shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    if not shortcut:
        monkeypatch.setattr(Child, "plain_ack", lambda *args: False)
    net = FakeNet(
        ChannelConfig(min_receivers=3, mss=500, pacing=False),
        receivers=3,
        seed=seed,
        net=Terrible(delay=0.002, jitter=0.0005),
    )
    net.channel.write(bytes(random.Random(seed).randbytes(60_000)))
    net.channel.close()
    net.run(until=60.0)
    monkeypatch.undo()
    return [(p.data, p.ended) for p in net.peers] + [
        (r.acked, r.srtt, r.cwnd) for r in (e.info for e in net.source_events if isinstance(e, ev.ReceiverCompleted))
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_plain_ack_shortcut_equals_the_general_ack_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without loss every ACK is plain: the same transfer through the general path must give the
    same bytes, the same RTT estimate and the same windows, event for event."""
    with_shortcut = _run(seed, True, monkeypatch)
    without = _run(seed, False, monkeypatch)
    assert with_shortcut == without
    assert all(ended for _, ended in with_shortcut[:3])
