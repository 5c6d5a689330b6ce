"""The protection layer around stub cores: what reaches a core, what is counted, what a leaver can read."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smocast.core.datagram import Address, Datagram, multicast, unicast
from smocast.core.errors import LocalProtocolError
from smocast.secure import control, envelope
from smocast.secure.envelope import Kind
from smocast.secure.exchange_source import Accepted
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, SessionKeys, Trust
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.rotation import RotationPolicy
from smocast.secure.signing import BlockPolicy
from smocast.secure.source import ProtectedSource

GROUP: Address = ("232.1.1.1", 5000)
SOURCE: Address = ("10.0.0.1", 5000)
PEERS: list[Address] = [("10.0.1.1", 6000), ("10.0.1.2", 6000), ("10.0.1.3", 6000)]


class Core:
    """A stub core: sends what it is given, records what it receives."""

    def __init__(self) -> None:
        self.outbox: list[Datagram[bytes]] = []
        self.received: list[tuple[bytes, Address]] = []

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.received.append((data, source))

    def receive_packet(self, packet: bytes, source: Address, now: float) -> None:
        self.received.append((packet, source))

    def datagrams_to_send(self, now: float) -> list[Datagram[bytes]]:
        out, self.outbox = self.outbox, []
        return out

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None

    def next_event(self) -> None:
        return None


class Pair:
    """A protected source and receivers around stub cores, with the key exchange run in memory."""

    def __init__(self, receivers: int = 2, blocks: BlockPolicy | None = None, rotation: Any = None) -> None:
        self.rng = random.Random(4)
        self.identity = Identity.generate(self.rng.randbytes)
        self.core = Core()
        self.source: ProtectedSource[None] = ProtectedSource(
            self.core, self.identity, self.rng.randbytes, blocks=blocks or BlockPolicy(8, 0.0), rotation=rotation
        )
        self.cores = [Core() for _ in range(receivers)]
        self.receivers: list[ProtectedReceiver[None]] = [ProtectedReceiver(c, SOURCE) for c in self.cores]
        self.keys: list[SessionKeys] = []
        for peer, receiver in zip(PEERS, self.receivers, strict=False):
            self.keys.append(self.join(peer, receiver))

    def join(self, peer: Address, receiver: ProtectedReceiver[None]) -> SessionKeys:
        handshake = ReceiverHandshake(self.rng.randbytes, Trust(frozenset({self.identity.public.digest})))
        accepted = self.source.accept(peer, handshake.hello(b"ctx"), b"ctx")
        assert isinstance(accepted, Accepted)
        keys = handshake.finish(accepted.reply)
        receiver.install(keys)
        return keys

    def send(self, now: float = 0.0) -> list[Datagram[bytes]]:
        """Run the source's turn and deliver everything it sends; returns what it sent."""
        sent = self.source.datagrams_to_send(now)
        for datagram in sent:
            for peer, receiver in zip(PEERS, self.receivers, strict=False):
                if datagram.multicast or datagram.destination == peer:
                    receiver.receive_datagram(datagram.data, SOURCE, now)
        return sent

    def send_up(self, index: int, now: float = 0.0) -> list[Datagram[bytes]]:
        sent = self.receivers[index].datagrams_to_send(now)
        for datagram in sent:
            self.source.receive_datagram(datagram.data, PEERS[index], now)
        return sent


def test_group_and_unicast_packets_reach_the_cores_as_sent() -> None:
    pair = Pair()
    pair.core.outbox = [multicast(b"data %d" % i, b"", GROUP) for i in range(10)]
    pair.core.outbox.append(unicast(b"repair for 1", b"", PEERS[1]))
    pair.send()
    assert [d for d, _ in pair.cores[0].received] == [b"data %d" % i for i in range(10)]
    assert [d for d, _ in pair.cores[1].received][-1] == b"repair for 1"
    pair.cores[1].outbox = [unicast(b"ack", b"", SOURCE)]
    pair.send_up(1)
    assert pair.core.received == [(b"ack", PEERS[1])]
    assert pair.source.stats.blocks_signed == 2  # 8 + 2 packets


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_and_never_reach_a_core(data: bytes) -> None:
    pair = PAIR_FOR_FUZZ
    before = (len(pair.core.received), len(pair.cores[0].received))
    pair.source.receive_datagram(data, PEERS[0], 1.0)
    pair.receivers[0].receive_datagram(data, SOURCE, 1.0)
    pair.receivers[0].handle_timer(5.0)
    assert (len(pair.core.received), len(pair.cores[0].received)) == before


PAIR_FOR_FUZZ = Pair()


def sealed_samples() -> list[tuple[bytes, bool]]:
    """Genuine datagrams of every kind, with whether each goes to the source (True) or a receiver."""
    pair = Pair()
    pair.core.outbox = [multicast(b"x" * 50, b"", GROUP), unicast(b"y" * 20, b"", PEERS[0])]
    down = [d.data for d in pair.source.datagrams_to_send(0.0)]
    pair.receivers[0].receive_datagram(down[0], SOURCE, 0.0)
    pair.cores[0].outbox = [unicast(b"z" * 30, b"", SOURCE)]
    up = [d.data for d in pair.receivers[0].datagrams_to_send(0.0)]
    return [(d, False) for d in down] + [(d, True) for d in up]


SAMPLES = sealed_samples()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SAMPLES))), st.integers(min_value=0), st.integers(min_value=1, max_value=255))
def test_a_changed_byte_anywhere_is_dropped_and_counted(which: int, position: int, flip: int) -> None:
    data, upward = SAMPLES[which]
    changed = bytearray(data)
    changed[position % len(changed)] ^= flip
    pair = Pair()
    if upward:
        pair.source.receive_datagram(bytes(changed), PEERS[0], 0.0)
        assert pair.core.received == []
        assert pair.source.stats.dropped == 1
    else:
        pair.receivers[0].receive_datagram(bytes(changed), SOURCE, 0.0)
        assert pair.cores[0].received == []
        stats = pair.receivers[0].stats
        assert stats.dropped + stats.held == 1 and stats.opened == 0


def test_a_replayed_or_misaddressed_unicast_is_dropped_before_the_core() -> None:
    pair = Pair()
    pair.cores[0].outbox = [unicast(b"ack", b"", SOURCE)]
    (sent,) = pair.send_up(0)
    pair.source.receive_datagram(sent.data, PEERS[0], 0.0)
    pair.source.receive_datagram(sent.data, PEERS[1], 0.0)
    assert len(pair.core.received) == 1
    assert pair.source.stats.replayed == 1 and pair.source.stats.wrong_address == 1


def test_a_forged_segment_of_an_insider_is_refused_though_it_opens_under_the_group_key() -> None:
    pair = Pair()
    grant = pair.keys[1].grants[0]  # receiver 1, an insider, holds the group key
    head = envelope.header(Kind.GROUP, grant.epoch, 0)
    forged = head + grant.packet_key().seal(0, head, b"forged")
    pair.receivers[0].receive_datagram(forged, SOURCE, 0.0)  # before the source's packet 0
    assert pair.receivers[0].stats.held == 1
    pair.core.outbox = [multicast(b"genuine", b"", GROUP)]
    pair.send()
    assert [d for d, _ in pair.cores[0].received] == [b"genuine"]
    assert pair.receivers[0].stats.insider_forged == 1
    assert pair.receivers[0].stats.forged == 0


def test_a_block_signed_by_an_insider_is_refused() -> None:
    pair = Pair()
    from smocast.secure.signing import BlockSigner

    grant = pair.keys[1].grants[0]
    insider = Identity.generate(random.Random(77).randbytes)
    signer = BlockSigner(insider, random.Random(1).randbytes, BlockPolicy(1))
    data_head = envelope.header(Kind.GROUP, grant.epoch, 0)
    signer.add(grant.epoch, 0, data_head, b"forged", 0.0)
    block_head = envelope.header(Kind.BLOCK, grant.epoch, 1)
    key = grant.packet_key()
    pair.receivers[0].receive_datagram(block_head + key.seal(1, block_head, signer.sign().encode()), SOURCE, 0.0)
    pair.receivers[0].receive_datagram(data_head + key.seal(0, data_head, b"forged"), SOURCE, 0.0)
    assert pair.receivers[0].stats.bad_signature == 1
    assert pair.cores[0].received == []


def test_a_receiver_that_missed_a_block_asks_for_it_and_gets_its_packets() -> None:
    pair = Pair()
    pair.core.outbox = [multicast(b"p%d" % i, b"", GROUP) for i in range(3)]
    sent = pair.source.datagrams_to_send(0.0)
    for datagram in sent[1:]:  # the block (first) is lost
        pair.receivers[0].receive_datagram(datagram.data, SOURCE, 0.0)
    assert pair.cores[0].received == [] and pair.receivers[0].stats.held == 3
    assert pair.receivers[0].next_deadline() == pytest.approx(0.05)
    pair.receivers[0].handle_timer(0.05)
    (request,) = pair.receivers[0].datagrams_to_send(0.05)
    pair.source.receive_datagram(request.data, PEERS[0], 0.06)
    pair.source.receive_datagram(request.data, PEERS[0], 0.06)  # a replay is not answered twice
    (answer,) = pair.source.datagrams_to_send(0.06)
    assert answer.destination == PEERS[0] and not answer.multicast
    pair.receivers[0].receive_datagram(answer.data, SOURCE, 0.07)
    assert [d for d, _ in pair.cores[0].received] == [b"p0", b"p1", b"p2"]


def test_a_block_that_never_comes_drops_its_packets_after_the_hold_limit() -> None:
    pair = Pair()
    pair.core.outbox = [multicast(b"p", b"", GROUP)]
    sent = pair.source.datagrams_to_send(0.0)
    pair.receivers[0].receive_datagram(sent[1].data, SOURCE, 0.0)
    now = 0.0
    while len(pair.receivers[0].held):
        now = pair.receivers[0].next_deadline() or now + 1
        pair.receivers[0].handle_timer(now)
    assert now == pytest.approx(1.0)
    assert pair.receivers[0].stats.unverified == 1 and pair.cores[0].received == []


ROTATION = RotationPolicy(interval=10.0, lead=1.0, holdoff=0.0)


def test_a_receiver_that_left_cannot_read_after_the_next_switch() -> None:
    pair = Pair(receivers=3, rotation=ROTATION)
    pair.source.revoke(PEERS[2])  # receiver 2 leaves at time 0
    assert pair.source.sessions == 2
    assert pair.source.next_deadline() == 0.0
    pair.send(0.0)  # the fresh key goes to receivers 0 and 1 only
    pair.core.outbox = [multicast(b"before the switch", b"", GROUP)]
    pair.send(0.5)
    pair.core.outbox = [multicast(b"after the switch", b"", GROUP)]
    pair.send(1.0)
    assert [d for d, _ in pair.cores[0].received] == [b"before the switch", b"after the switch"]
    assert [d for d, _ in pair.cores[2].received] == [b"before the switch"]  # what a leaver can still read
    assert pair.receivers[2].stats.no_key > 0


def test_a_receiver_that_missed_the_key_update_asks_for_it() -> None:
    pair = Pair(rotation=ROTATION)
    pair.source.datagrams_to_send(9.0)  # the key update, lost on the way
    pair.core.outbox = [multicast(b"new epoch", b"", GROUP)]
    pair.send(10.0)
    assert pair.receivers[0].stats.no_key == 2  # the block and its packet
    (request,) = pair.receivers[0].datagrams_to_send(10.0)
    pair.source.receive_datagram(request.data, PEERS[0], 10.0)
    for datagram in pair.source.datagrams_to_send(10.0):
        pair.receivers[0].receive_datagram(datagram.data, SOURCE, 10.0)
    assert pair.receivers[0].ring.newest == 1
    assert pair.receivers[0].stats.key_requests_sent == 1


def test_nothing_passes_without_a_session_unless_the_clear_policy_allows_it() -> None:
    core = Core()
    identity = Identity.generate(random.Random(1).randbytes)
    source: ProtectedSource[None] = ProtectedSource(core, identity, random.Random(1).randbytes)
    core.outbox = [unicast(b"SYN-ACK", b"", PEERS[0])]
    assert source.datagrams_to_send(0.0) == []
    assert source.stats.no_session_out == 1
    open_source: ProtectedSource[None] = ProtectedSource(
        core, identity, random.Random(1).randbytes, clear=lambda p: p.startswith(b"SYN")
    )
    core.outbox = [unicast(b"SYN-ACK", b"", PEERS[0]), unicast(b"DATA", b"", PEERS[0])]
    (sent,) = open_source.datagrams_to_send(0.0)
    assert sent.data == envelope.clear(b"SYN-ACK")
    open_source.receive_datagram(envelope.clear(b"SYN"), PEERS[0], 0.0)
    open_source.receive_datagram(envelope.clear(b"ACK"), PEERS[0], 0.0)
    assert core.received == [(b"SYN", PEERS[0])] and open_source.stats.cleartext == 1


def test_a_receiver_core_may_not_multicast() -> None:
    pair = Pair()
    pair.cores[0].outbox = [multicast(b"nak", b"", GROUP)]
    with pytest.raises(LocalProtocolError, match="never to the group"):
        pair.receivers[0].datagrams_to_send(0.0)


def test_a_held_block_delay_is_honoured_and_the_timer_flushes_it() -> None:
    pair = Pair(blocks=BlockPolicy(64, 0.002))
    pair.core.outbox = [multicast(b"a", b"", GROUP)]
    assert pair.source.datagrams_to_send(0.0) == []
    assert pair.source.next_deadline() == pytest.approx(0.002)
    pair.source.handle_timer(0.002)
    sent = pair.source.datagrams_to_send(0.002)
    assert [envelope.parse(d.data)[0] for d in sent] == [Kind.BLOCK, Kind.GROUP]  # type: ignore[index]


def test_key_and_signature_requests_are_answered_at_most_once_per_interval() -> None:
    pair = Pair()
    request = pair.receivers[0].session
    assert request is not None
    for _ in range(3):
        sealed = request.seal(Kind.CONTROL, control.key_request(0))
        pair.source.receive_datagram(sealed, PEERS[0], 0.0)
    assert len(pair.source.datagrams_to_send(0.0)) == 1
    sealed = request.seal(Kind.CONTROL, control.key_request(0))
    pair.source.receive_datagram(sealed, PEERS[0], 0.1)
    assert len(pair.source.datagrams_to_send(0.1)) == 1
