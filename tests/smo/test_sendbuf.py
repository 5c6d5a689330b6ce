from __future__ import annotations

from smocast.smo.sendbuf import SendBuffer
from smocast.wire import FLAG_MSG_START


def test_segments_are_cut_at_mss_and_at_message_starts() -> None:
    buf = SendBuffer(mss=100)
    buf.write(b"a" * 250)
    buf.write(b"b" * 30, message_start=True)
    lengths = []
    flags = []
    while buf.pending:
        segment = buf.take(0.0, 1, 1)
        lengths.append(segment.end - segment.start)
        flags.append(segment.flags)
    assert lengths == [100, 100, 50, 30]
    assert flags == [0, 0, 0, FLAG_MSG_START]
    assert buf.snd_nxt == 280


def test_small_writes_coalesce_into_one_segment() -> None:
    buf = SendBuffer(mss=100)
    for _ in range(5):
        buf.write(b"xyz")
    segment = buf.take(0.0, 1, 1)
    assert segment.payload == b"xyz" * 5


def test_window_edge_moves_when_enough_receivers_ack() -> None:
    buf = SendBuffer(mss=10)
    buf.write(bytes(50))
    for _ in range(5):
        buf.take(0.0, needed=2, needed_all=3)  # a quorum of 2 out of 3
    buf.on_acked(0, 30)
    assert buf.edge == 0
    buf.on_acked(0, 20)
    assert buf.edge == 20  # two receivers acked [0, 20)
    assert buf.base == 0  # memory is kept until all three acked
    buf.on_acked(0, 50)
    assert buf.edge == 30
    assert buf.base == 20


def test_a_removed_receiver_stops_holding_data_back() -> None:
    buf = SendBuffer(mss=10)
    buf.write(bytes(30))
    for _ in range(3):
        buf.take(0.0, needed=2, needed_all=2)
    buf.on_acked(0, 30)
    assert buf.edge == 0
    buf.on_receiver_removed(10)  # it had acked [0, 10) before leaving
    assert buf.edge == 0
    buf.on_acked(0, 10)
    assert buf.edge == 30
    assert buf.segment_at(0) is None  # released
    assert buf.retained_segments() == 0


def test_partial_acks_count_once_the_segment_is_complete() -> None:
    buf = SendBuffer(mss=10)
    buf.write(bytes(20))
    buf.take(0.0, 1, 1)
    buf.take(0.0, 1, 1)
    buf.on_acked(0, 5)
    assert buf.edge == 0
    buf.on_acked(5, 15)
    assert buf.edge == 10


def test_force_release_drops_the_oldest() -> None:
    buf = SendBuffer(mss=10)
    buf.write(bytes(40))
    for _ in range(4):
        buf.take(0.0, 1, 1)
    buf.force_release(20)
    assert buf.base == 20
    assert buf.edge == 20
    assert [s.start for s in buf.segments_from(0)] == [20, 30]


def test_many_segments_compact_and_stay_findable() -> None:
    buf = SendBuffer(mss=10)
    buf.write(bytes(100_000))
    while buf.pending:
        buf.take(0.0, 1, 1)
    buf.on_acked(0, 90_000)
    assert buf.base == 90_000
    assert buf.segment_at(95_000) is not None
    assert next(buf.segments_from(95_005)).start == 95_000


def test_sent_at_of_names_the_segment_holding_a_byte() -> None:
    buf = SendBuffer(mss=100)
    buf.write(b"a" * 300)
    for at in (1.0, 2.0, 3.0):
        buf.take(at, 1, 1)
    assert [buf.sent_at_of(offset) for offset in (0, 99, 100, 250, 299)] == [1.0, 1.0, 2.0, 3.0, 3.0]
    assert buf.sent_at_of(300) is None  # not sent yet
    buf.on_acked(0, 100)
    assert buf.sent_at_of(50) is None  # released
