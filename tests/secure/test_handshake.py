"""The key exchange riding on the cookie handshake: no cost before validation, small answers, clear refusals."""

from __future__ import annotations

import random
from typing import Any

from smocast.core.datagram import Address
from smocast.secure import envelope
from smocast.secure.allowlist import AllowList
from smocast.secure.envelope import Kind
from smocast.secure.handshake import hello_datagram, parse_hello
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import Trust
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.source import ProtectedSource
from smocast.secure.tcpsmo import SECURE_MSS, protect_channel, protect_receiver
from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig, ReceiverConfig
from smocast.smo.receiver import Receiver, ReceiverState
from smocast.wire import Packet, PacketType, encode
from tests.secure.harness import build

SOURCE: Address = ("10.0.0.1", 5000)
GROUP: Address = ("232.1.1.1", 5000)
PEER: Address = ("10.0.0.2", 40000)
IDENTITY = Identity.generate(random.Random(1).randbytes)
PINNED = Trust(frozenset({IDENTITY.public.digest}))


def source_layer(allow: AllowList | None = None) -> ProtectedSource[Any]:
    channel = Channel(GROUP, ChannelConfig(mss=SECURE_MSS, admission="continuous"), random.Random(2))
    return protect_channel(channel, IDENTITY, random.Random(3).randbytes, allow=allow)


def receiver_layer(trust: Trust = PINNED, identity: Identity | None = None) -> ProtectedReceiver[Any]:
    core = Receiver(SOURCE, ReceiverConfig(), random.Random(4))
    return protect_receiver(core, SOURCE, random.Random(5).randbytes, trust, identity=identity)


def handshake(
    source: ProtectedSource[Any], receiver: ProtectedReceiver[Any], rounds: int = 4
) -> list[tuple[int, int, Kind]]:
    """Run the handshake in memory: ``(sent by the receiver, answered by the source, answer kind)`` per round."""
    receiver.inner.connect(0.0)
    sizes = []
    for step in range(rounds):
        now = 0.001 * step
        asked = receiver.datagrams_to_send(now)
        if not asked:
            break
        sent = sum(len(d.data) for d in asked)
        for datagram in asked:
            source.receive_datagram(datagram.data, PEER, now)
        answers = [d for d in source.datagrams_to_send(now) if not d.multicast]
        for answer in answers:
            receiver.receive_datagram(answer.data, SOURCE, now)
            parsed = envelope.parse(answer.data)
            assert parsed is not None
            sizes.append((sent, len(answer.data), parsed[0]))
    return sizes


def test_the_handshake_installs_the_keys_and_every_answer_stays_within_three_times_the_request() -> None:
    for allow, own in ((None, None), (AllowList(frozenset({IDENTITY.public.digest})), IDENTITY)):
        source, receiver = source_layer(allow), receiver_layer(identity=own)
        sizes = handshake(source, receiver)
        assert [kind for _, _, kind in sizes] == [Kind.CLEAR, Kind.HANDSHAKE]  # RETRY, then the sealed SYN-ACK
        assert all(answer <= 3 * asked for asked, answer, _ in sizes), sizes
        assert receiver.inner.state is ReceiverState.ESTABLISHED and receiver.session is not None
        assert source.sessions == 1


def test_nothing_of_the_key_exchange_runs_before_the_cookie_is_valid() -> None:
    source = source_layer()
    syn = encode(Packet(PacketType.SYN, 1, 77, payload=bytes(range(16))))  # a cookie it never made
    hello = receiver_layer().exchange.hello_for(b"context")  # type: ignore[union-attr]
    source.receive_datagram(hello_datagram(syn, hello), PEER, 0.0)
    (answer,) = source.datagrams_to_send(0.0)
    assert parse_hello(hello_datagram(syn, hello)) == (syn, hello)
    assert envelope.parse(answer.data) == (Kind.CLEAR, 0, 0)  # a RETRY, in the clear
    assert source.exchange is not None and source.exchange.counts.accepted == 0 and source.sessions == 0


def test_a_syn_with_a_valid_cookie_but_no_hello_is_refused() -> None:
    source, receiver = source_layer(), receiver_layer()
    receiver.inner.connect(0.0)
    (first,) = receiver.datagrams_to_send(0.0)
    source.receive_datagram(first.data, PEER, 0.0)
    (retry,) = source.datagrams_to_send(0.0)
    receiver.receive_datagram(retry.data, SOURCE, 0.0)
    (with_hello,) = receiver.datagrams_to_send(0.0)
    parsed = parse_hello(with_hello.data)
    assert parsed is not None
    source.receive_datagram(envelope.clear(parsed[0]), PEER, 0.0)  # the same SYN, its hello stripped
    (rst,) = source.datagrams_to_send(0.0)
    assert b"not admitted" in rst.data and source.sessions == 0
    assert source.exchange is not None and source.exchange.counts.no_hello == 1


def test_a_forged_reply_does_not_end_the_handshake() -> None:
    source, receiver = source_layer(), receiver_layer()
    receiver.inner.connect(0.0)
    for _ in range(2):  # SYN, RETRY, then the SYN with the hello
        for datagram in receiver.datagrams_to_send(0.0):
            source.receive_datagram(datagram.data, PEER, 0.0)
        answers = source.datagrams_to_send(0.0)
        if envelope.parse(answers[0].data)[0] is Kind.HANDSHAKE:  # type: ignore[index]
            break
        for answer in answers:
            receiver.receive_datagram(answer.data, SOURCE, 0.0)
    (real,) = answers
    forged = bytearray(real.data)
    forged[40] ^= 1  # a byte of the reply: its signature fails
    receiver.receive_datagram(bytes(forged), SOURCE, 0.0)
    assert receiver.session is None and receiver.stats.forged == 1
    receiver.receive_datagram(real.data, SOURCE, 0.0)
    assert receiver.inner.state is ReceiverState.ESTABLISHED


def test_an_untrusted_source_is_refused_with_both_fingerprints() -> None:
    other = Identity.generate(random.Random(9).randbytes)
    run = build(receivers=1, size=20_000, trust=Trust(frozenset({other.public.digest})))
    run.sim.run(until=2.0)
    (outcome,) = run.outcomes
    assert outcome.reset is not None
    assert run.source_identity.public.fingerprint in outcome.reset and other.public.fingerprint in outcome.reset
    assert outcome.data == b"" and run.layer(0).failed is not None


def test_the_channel_forgets_the_sessions_of_receivers_it_removed() -> None:
    run = build(receivers=3, size=100_000)
    run.run()
    assert all(run.identical())
    assert run.source_layer.sessions == 0  # each completed: its keys are gone


def test_a_receiver_in_the_insecure_mode_is_told_the_source_is_secure() -> None:
    source = source_layer()
    plain = Receiver(SOURCE, ReceiverConfig(), random.Random(4))
    plain.connect(0.0)
    (syn,) = plain.datagrams_to_send(0.0)
    source.receive_datagram(syn.data, PEER, 0.0)
    (answer,) = source.datagrams_to_send(0.0)
    assert len(answer.data) <= 2 * len(syn.data) and source.sessions == 0  # small, and nothing kept
    plain.receive_datagram(answer.data, SOURCE, 0.0)
    event = plain.next_event()
    assert isinstance(event, ev.ConnectionReset) and "this source is secure" in event.reason
