"""Real-time mode (TCP-RTM): holes that cannot be repaired in time are skipped."""

from __future__ import annotations

import random

import pytest

from smocast.core.datagram import Address
from smocast.core.errors import LocalProtocolError
from smocast.core.timestamps import timestamp
from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.framing import MessageFramer, frame
from smocast.smo.receiver import Receiver
from smocast.wire import FLAG_MSG_START, Packet, PacketType, decode

SERVER: Address = ("192.0.2.1", 5000)
T0 = 10.0


def receiver(**config: object) -> Receiver:
    rx = Receiver(SERVER, ReceiverConfig(**config), random.Random(5))  # type: ignore[arg-type]
    rx.connect(T0)
    rx.datagrams_to_send(T0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0), SERVER, T0 + 0.01)
    rx.datagrams_to_send(T0 + 0.01)
    drain(rx)
    return rx


def drain(rx: Receiver) -> list[object]:
    return list(iter(rx.next_event, None))


def data(seq: int, payload: bytes, sent_at: float, start: bool = False, repair: bool = False) -> Packet:
    kind = PacketType.REPAIR if repair else PacketType.DATA
    return Packet(
        kind, 1, 0, seq, tsval=timestamp(sent_at), flags=FLAG_MSG_START if start else 0, ack_every=1, payload=payload
    )


def acks(rx: Receiver, now: float) -> list[int]:
    return [decode(d.data).ack for d in rx.datagrams_to_send(now)]


def test_a_hole_repaired_in_time_is_delivered() -> None:
    rx = receiver(realtime=True, playout_delay=0.2)
    rx.receive_packet(data(0, b"a" * 100, T0 + 0.1), SERVER, T0 + 0.12)
    rx.receive_packet(data(200, b"c" * 100, T0 + 0.12), SERVER, T0 + 0.14)
    rx.receive_packet(data(100, b"b" * 100, T0 + 0.2, repair=True), SERVER, T0 + 0.22)
    assert rx.next_deadline() is None or rx.next_deadline() > T0 + 0.3  # nothing left to skip
    got = b"".join(e.data for e in drain(rx) if isinstance(e, ev.DataReceived))
    assert got == b"a" * 100 + b"b" * 100 + b"c" * 100
    assert rx.stats.skipped_bytes == 0


def test_an_unrepaired_hole_is_skipped_at_the_playout_deadline_and_acked_past() -> None:
    rx = receiver(realtime=True, playout_delay=0.2)
    rx.receive_packet(data(0, b"a" * 100, T0 + 0.1), SERVER, T0 + 0.12)  # base delay 20 ms
    rx.receive_packet(data(200, b"c" * 100, T0 + 0.12), SERVER, T0 + 0.14)
    assert acks(rx, T0 + 0.14)[-1] == 100  # the hole at 100 is reported
    deadline = rx.next_deadline()
    assert deadline == pytest.approx(T0 + 0.12 + 0.02 + 0.2, abs=1e-3)
    drain(rx)
    rx.handle_timer(deadline)
    events = drain(rx)
    assert ev.Skipped(100, 200, deadline) in events
    assert ev.DataReceived(200, b"c" * 100) in events
    assert acks(rx, deadline) == [300]  # past the hole: the source stops repairing it
    rx.receive_packet(data(100, b"b" * 100, T0 + 0.5, repair=True), SERVER, deadline + 0.1)
    assert not [e for e in drain(rx) if isinstance(e, ev.DataReceived)]  # too late, ignored


def test_skip_hole_returns_later_data_at_once() -> None:
    rx = receiver(realtime=True)
    rx.receive_packet(data(0, b"a" * 10, T0), SERVER, T0)
    rx.receive_packet(data(20, b"c" * 10, T0), SERVER, T0)
    drain(rx)
    assert rx.next_deadline() is None or rx.next_deadline() <= T0 + 0.1  # only the delayed ACK
    assert rx.skip_hole(T0 + 0.01) is True
    assert drain(rx) == [ev.Skipped(10, 20, T0 + 0.01), ev.DataReceived(20, b"c" * 10)]
    assert rx.skip_hole(T0 + 0.02) is False


def test_skip_hole_needs_realtime_mode() -> None:
    with pytest.raises(LocalProtocolError):
        receiver().skip_hole(T0)


def messages_of(events: list[object]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, ev.MessageReceived)]


def test_with_framing_a_skip_lands_on_a_message_boundary() -> None:
    rx = receiver(realtime=True, playout_delay=0.1, framing=True)
    m1, m2, m3 = frame(b"one" * 30), frame(b"two" * 30), frame(b"three" * 10)  # m2 spans two segments
    stream = m1 + m2 + m3
    a, b = len(m1), len(m1) + len(m2)
    half = a + len(m2) // 2
    rx.receive_packet(data(0, stream[:a], T0, start=True), SERVER, T0 + 0.01)
    rx.receive_packet(data(a, stream[a:half], T0, start=True), SERVER, T0 + 0.01)
    # the second half of m2 is lost; m3 arrives
    rx.receive_packet(data(b, stream[b:], T0 + 0.01, start=True), SERVER, T0 + 0.02)
    assert messages_of(drain(rx)) == [b"one" * 30]  # never half of m2
    deadline = rx.next_deadline()
    assert deadline is not None
    rx.handle_timer(deadline)
    events = drain(rx)
    assert messages_of(events) == [b"three" * 10]
    (gap,) = [e for e in events if isinstance(e, ev.Skipped)]
    assert (gap.start, gap.end) == (a, b)  # the whole of m2 is given up, from its start


def test_a_late_joiner_with_framing_starts_at_the_next_whole_message() -> None:
    rx = receiver(realtime=True, framing=True)
    m1, m2 = frame(b"x" * 50), frame(b"y" * 50)
    rx.receive_packet(data(0, m1[20:], T0), SERVER, T0)  # joined in the middle of m1
    rx.receive_packet(data(len(m1) - 20, m2, T0, start=True), SERVER, T0)
    events = drain(rx)
    assert messages_of(events) == [b"y" * 50]
    assert ev.Skipped(0, len(m1) - 20, T0) in events


def test_framer_cuts_messages_across_chunks() -> None:
    framer = MessageFramer(synced=True)
    stream = frame(b"hello") + frame(b"") + frame(b"world" * 100)
    out = []
    for i in range(0, len(stream), 7):
        messages, discarded = framer.feed(i, stream[i : i + 7], i == 0)
        assert discarded == 0
        out += messages
    assert [m for _, m in out] == [b"hello", b"", b"world" * 100]
    assert [o for o, _ in out] == [0, 9, 13]
