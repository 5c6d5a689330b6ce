"""The sans-IO endpoints driven by hand: each class's rules, one datagram at a time."""

from __future__ import annotations

import random

import pytest

from smocast.classes import ClassConfig, Delivered, RepairUnavailable, SenderFinished, StreamComplete
from smocast.classes.a import ReceiverA, SenderA
from smocast.classes.n1 import ReceiverN1, SenderN1
from smocast.classes.n2 import ReceiverN2
from smocast.classes.packet import FLAG_FIN, Kind, Packet, decode, encode
from smocast.classes.ring import ReceiverR
from smocast.classes.tree import TreeLayout
from smocast.core.datagram import Address, Datagram
from smocast.core.errors import ConfigError, LocalProtocolError

SOURCE: Address = ("192.0.2.1", 5000)
GROUP: Address = ("239.1.2.3", 5000)
RING: list[Address] = [("198.51.100.1", 6000), ("198.51.100.2", 6000), ("198.51.100.3", 6000)]
CONFIG = ClassConfig(interval=0.0, rto=0.1)


def _events(endpoint: object) -> list[object]:
    out = []
    while (event := endpoint.next_event()) is not None:  # type: ignore[attr-defined]
        out.append(event)
    return out


def _packets(datagrams: list[Datagram]) -> list[Packet]:
    return [decode(d.data) for d in datagrams]


def test_a_retransmits_on_timeout_until_every_receiver_acked_then_finishes() -> None:
    sender = SenderA(GROUP, 3, CONFIG, random.Random(1))
    sender.write(b"one")
    sender.close()
    (first,) = _packets(sender.datagrams_to_send(0.0))
    assert (first.kind, first.seq, first.round, first.flags & FLAG_FIN) == (Kind.DATA, 0, 1, FLAG_FIN)
    assert sender.next_deadline() == pytest.approx(0.1)
    for node in (1, 2):
        sender.receive_packet(Packet(Kind.ACK, node, 0, 1), SOURCE, 0.02)
    sender.handle_timer(0.1)
    (again,) = _packets(sender.datagrams_to_send(0.1))
    assert (again.seq, again.round) == (0, 2)
    sender.receive_packet(Packet(Kind.ACK, 3, 0, 2), SOURCE, 0.12)
    assert sender.datagrams_to_send(0.12) == []
    assert [type(e) for e in _events(sender)] == [SenderFinished]
    assert sender.next_deadline() is None
    ops = sender.ledger.total("sender")
    assert (ops["X_f"], ops["X_p"], ops["X_t"], ops["X_a"]) == (1, 2, 1, 3)


def test_a_finite_buffer_stops_taking_packets_until_one_is_released() -> None:
    sender = SenderA(GROUP, 1, ClassConfig(interval=0.0, buffer=2), random.Random(1))
    for i in range(5):
        sender.write(bytes([i]))
    assert [p.seq for p in _packets(sender.datagrams_to_send(0.0))] == [0, 1]
    sender.receive_packet(Packet(Kind.ACK, 1, 0, 1), SOURCE, 0.01)
    assert [p.seq for p in _packets(sender.datagrams_to_send(0.01))] == [2]
    assert sender.pending == 2


def test_a_receiver_acks_every_copy_and_delivers_once_in_order() -> None:
    receiver = ReceiverA(1, SOURCE, GROUP, CONFIG, random.Random(1))
    for seq in (1, 0, 1):
        receiver.receive_packet(
            Packet(Kind.DATA, 0, seq, 1, flags=FLAG_FIN if seq == 1 else 0, payload=bytes([seq])), SOURCE, 0.0
        )
    acks = _packets(receiver.datagrams_to_send(0.0))
    assert [(a.kind, a.seq) for a in acks] == [(Kind.ACK, 1), (Kind.ACK, 0), (Kind.ACK, 1)]
    events = _events(receiver)
    assert [e.seq for e in events if isinstance(e, Delivered)] == [0, 1]
    assert isinstance(events[-1], StreamComplete)


def test_n1_source_repairs_once_per_round() -> None:
    sender = SenderN1(GROUP, CONFIG, random.Random(1))
    sender.write(b"x")
    sender.write(b"y")
    sender.datagrams_to_send(0.0)
    for node in (1, 2):
        sender.receive_packet(Packet(Kind.NAK, node, 0, 1), SOURCE, 0.01)
    assert [(p.seq, p.round) for p in _packets(sender.datagrams_to_send(0.01))] == [(0, 2)]
    sender.receive_packet(Packet(Kind.NAK, 3, 0, 1), SOURCE, 0.02)  # late: round 1 was answered
    assert sender.datagrams_to_send(0.02) == []
    sender.receive_packet(Packet(Kind.NAK, 1, 0, 2), SOURCE, 0.03)  # the repair was lost too
    assert [(p.seq, p.round) for p in _packets(sender.datagrams_to_send(0.03))] == [(0, 3)]
    assert sender.ledger.total("sender")["X_n"] == 4


def test_n1_with_a_full_buffer_drops_the_oldest_and_cannot_repair_it() -> None:
    sender = SenderN1(GROUP, ClassConfig(interval=0.0, buffer=2), random.Random(1))
    for i in range(4):
        sender.write(bytes([i]))
    assert len(sender.datagrams_to_send(0.0)) == 4  # no release rule: it never blocks
    assert sorted(sender.held) == [2, 3] and sender.evicted == 2
    for t in (0.1, 0.2):
        sender.receive_packet(Packet(Kind.NAK, 1, 0, 1), SOURCE, t)
    assert sender.datagrams_to_send(0.2) == []
    assert [e for e in _events(sender) if isinstance(e, RepairUnavailable)] == [RepairUnavailable(0, 0.1)]


def test_n1_receiver_naks_a_gap_and_again_when_the_repair_is_lost() -> None:
    receiver = ReceiverN1(1, SOURCE, GROUP, CONFIG, random.Random(1))
    receiver.receive_packet(Packet(Kind.DATA, 0, 1, 1, payload=b"b"), SOURCE, 0.0)
    (nak,) = _packets(receiver.datagrams_to_send(0.0))
    assert (nak.kind, nak.seq, nak.round) == (Kind.NAK, 0, 1)
    deadline = receiver.next_deadline()
    assert deadline is not None and deadline == pytest.approx(0.1)
    receiver.handle_timer(deadline)
    (again,) = _packets(receiver.datagrams_to_send(deadline))
    assert (again.seq, again.round) == (0, 2)
    receiver.receive_packet(Packet(Kind.DATA, 0, 0, 3, payload=b"a"), SOURCE, 0.25)
    assert [e.data for e in _events(receiver) if isinstance(e, Delivered)] == [b"a", b"b"]
    assert receiver.next_deadline() is None
    ops = receiver.ledger.total("receiver")
    assert (ops["Y_n"], ops["Y_t"]) == (2, 2)


def test_n2_receiver_suppresses_its_nak_when_it_hears_the_same_round() -> None:
    receiver = ReceiverN2(1, SOURCE, GROUP, CONFIG, random.Random(1))
    receiver.receive_packet(Packet(Kind.DATA, 0, 1, 1, payload=b"b"), SOURCE, 0.0)
    assert receiver.datagrams_to_send(0.0) == []  # it waits its back-off first
    backoff = receiver.next_deadline()
    assert backoff is not None and backoff >= CONFIG.c1 * CONFIG.initial_distance
    receiver.receive_packet(Packet(Kind.NAK, 7, 0, 1), SOURCE, backoff / 2)
    receiver.handle_timer(backoff)
    assert receiver.datagrams_to_send(backoff) == []
    later = receiver.next_deadline()
    assert later is not None and later > backoff  # it now waits for the repair of round 2
    ops = receiver.ledger.total("receiver")
    assert (ops["Y_nr"], ops["Y_t"], ops["Y_n"]) == (1, 1, 0)


def test_ring_token_passes_in_order_and_only_with_every_packet_before_it() -> None:
    site0 = ReceiverR(1, SOURCE, GROUP, RING, CONFIG, random.Random(1))
    site1 = ReceiverR(2, SOURCE, GROUP, RING, CONFIG, random.Random(1))
    data = [Packet(Kind.DATA, 0, seq, 1, payload=bytes([seq])) for seq in range(2)]
    site1.receive_packet(data[1], SOURCE, 0.0)
    assert site1.datagrams_to_send(0.0) == []  # it lacks packet 0 and has not seen token 0
    site0.receive_packet(data[0], SOURCE, 0.0)
    (token0,) = _packets(site0.datagrams_to_send(0.0))
    assert (token0.kind, token0.seq) == (Kind.TOKEN, 0)
    site1.receive_packet(token0, RING[0], 0.01)
    (nak,) = site1.datagrams_to_send(0.01)
    assert nak.destination == RING[0] and decode(nak.data).seq == 0  # NAK to packet 0's site
    site0.receive_packet(decode(nak.data), RING[1], 0.02)
    (repair,) = site0.datagrams_to_send(0.02)
    assert repair.destination == RING[1] and not repair.multicast
    site1.receive_packet(decode(repair.data), RING[0], 0.03)
    (token1,) = _packets(site1.datagrams_to_send(0.03))
    assert (token1.kind, token1.seq) == (Kind.TOKEN, 1)


def test_tree_layout_is_a_full_breadth_first_tree() -> None:
    tree = TreeLayout(100, 10)
    assert list(tree.children(0)) == list(range(1, 11))
    assert list(tree.children(3)) == list(range(31, 41))
    assert tree.parent(37) == 3 and tree.parent(7) == 0
    assert tree.leaders() == list(range(1, 10))
    assert tree.index_in_group(37) == 6
    with pytest.raises(ConfigError):
        tree.parent(101)


@pytest.mark.parametrize(
    "bad", [{"rto": 0.0}, {"buffer": 0}, {"branching": 0}, {"interval": -1.0}, {"heartbeat": 2.0, "heartbeat_max": 1.0}]
)
def test_bad_settings_are_config_errors(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        ClassConfig(**bad)  # type: ignore[arg-type]


def test_closing_an_empty_queue_sends_an_empty_last_packet_and_writes_after_close_fail() -> None:
    sender = SenderA(GROUP, 1, CONFIG, random.Random(1))
    sender.write(b"a")
    sender.datagrams_to_send(0.0)
    sender.close()
    (last,) = _packets(sender.datagrams_to_send(0.0))
    assert (last.seq, last.payload, last.flags & FLAG_FIN) == (1, b"", FLAG_FIN)
    with pytest.raises(LocalProtocolError):
        sender.write(b"b")


def test_malformed_datagrams_are_counted_not_raised() -> None:
    receiver = ReceiverA(1, SOURCE, GROUP, CONFIG, random.Random(1))
    receiver.receive_datagram(b"\x00garbage", SOURCE, 0.0)
    receiver.receive_datagram(encode(Packet(Kind.DATA, 0, 0, 1, payload=b"ok")), SOURCE, 0.0)
    assert receiver.malformed == 1
    assert [e.data for e in _events(receiver) if isinstance(e, Delivered)] == [b"ok"]


def test_a_sequence_number_far_beyond_anything_seen_is_ignored() -> None:
    receiver = ReceiverN1(1, SOURCE, GROUP, CONFIG, random.Random(1))
    receiver.receive_packet(Packet(Kind.SESSION, 0, 0xFFFFFFFF, flags=FLAG_FIN), SOURCE, 0.0)
    receiver.receive_packet(Packet(Kind.DATA, 0, 0xFFFFFFF0, 1, payload=b"x"), SOURCE, 0.0)
    assert receiver.implausible == 2
    assert receiver.missing == 0 and receiver.end is None
    assert receiver.datagrams_to_send(0.0) == []
