"""The key exchange: both sides derive the same keys; a wrong key, a changed byte or a stranger is refused."""

from __future__ import annotations

import random

import pytest

from smocast.core.errors import LocalProtocolError
from smocast.secure.allowlist import AllowList
from smocast.secure.errors import HandshakeError, UntrustedSourceError
from smocast.secure.exchange_source import Accepted, Refused, respond
from smocast.secure.group import GroupGrant
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import HandshakeState, ReceiverHandshake, SessionKeys, Trust

RNG = random.Random(5)
SOURCE = Identity.generate(RNG.randbytes)
RECEIVER = Identity.generate(RNG.randbytes)
GRANTS = (GroupGrant(4, bytes(range(32))), GroupGrant(5, bytes(range(32, 64))))
CONTEXT = b"channel 1, cookie 0123, 198.51.100.7:6000"


def pinned(identity: Identity = SOURCE) -> Trust:
    return Trust(frozenset({identity.public.digest}))


def exchange(
    trust: Trust | None = None, receiver: Identity | None = None, allow: AllowList | None = None, seed: int = 1
) -> tuple[ReceiverHandshake, Accepted | Refused]:
    rng = random.Random(seed)
    handshake = ReceiverHandshake(rng.randbytes, trust or pinned(), receiver)
    hello = handshake.hello(CONTEXT)
    return handshake, respond(hello, CONTEXT, identity=SOURCE, randbytes=rng.randbytes, grants=GRANTS, allow=allow)


def test_both_sides_derive_the_same_keys_and_the_receiver_gets_the_group_keys() -> None:
    handshake, accepted = exchange()
    assert isinstance(accepted, Accepted)
    keys = handshake.finish(accepted.reply)
    assert keys == accepted.keys
    assert keys.grants == GRANTS
    assert keys.source == SOURCE.public
    assert keys.source_to_receiver != keys.receiver_to_source
    assert handshake.state is HandshakeState.ESTABLISHED


def test_the_same_seed_gives_the_same_exchange_and_another_seed_other_keys() -> None:
    first, second, other = (exchange(seed=s)[1] for s in (1, 1, 2))
    assert isinstance(first, Accepted) and isinstance(second, Accepted) and isinstance(other, Accepted)
    assert first.reply == second.reply
    assert first.keys.source_to_receiver != other.keys.source_to_receiver


def test_a_source_with_another_key_is_refused_with_both_fingerprints() -> None:
    stranger = Identity.generate(random.Random(99).randbytes)
    handshake, accepted = exchange(trust=pinned(stranger))
    assert isinstance(accepted, Accepted)
    with pytest.raises(UntrustedSourceError, match=SOURCE.public.fingerprint) as info:
        handshake.finish(accepted.reply)
    assert stranger.public.fingerprint in str(info.value)
    assert handshake.state is HandshakeState.FAILED


def test_trust_on_first_use_accepts_any_source_and_reports_its_key() -> None:
    handshake, accepted = exchange(trust=Trust(first_use=True))
    assert isinstance(accepted, Accepted)
    assert handshake.finish(accepted.reply).source.fingerprint == SOURCE.public.fingerprint


def test_trusting_nothing_is_a_mistake_of_the_caller() -> None:
    with pytest.raises(LocalProtocolError, match="no source key is trusted"):
        Trust()


@pytest.mark.parametrize("index", [0, 1, 20, 40, 60, 70, 75, 80, 120, 150, -1])
def test_any_changed_byte_of_the_reply_fails_the_exchange(index: int) -> None:
    handshake, accepted = exchange()
    assert isinstance(accepted, Accepted)
    reply = bytearray(accepted.reply)
    reply[index] ^= 0x40
    with pytest.raises(HandshakeError):
        handshake.finish(bytes(reply))
    assert handshake.state is HandshakeState.HELLO_SENT  # a forged reply does not end the exchange
    assert handshake.finish(accepted.reply).session_id == accepted.keys.session_id


def test_a_reply_to_another_context_fails() -> None:
    rng = random.Random(1)
    handshake = ReceiverHandshake(rng.randbytes, pinned())
    hello = handshake.hello(CONTEXT)
    accepted = respond(hello, b"another cookie", identity=SOURCE, randbytes=rng.randbytes, grants=GRANTS)
    assert isinstance(accepted, Accepted)
    with pytest.raises(HandshakeError, match="signature"):
        handshake.finish(accepted.reply)


def test_a_man_in_the_middle_who_swaps_the_share_cannot_sign_for_the_source() -> None:
    """An attacker replaces the source's reply with its own exchange, signed by its own key."""
    rng = random.Random(1)
    handshake = ReceiverHandshake(rng.randbytes, pinned())
    hello = handshake.hello(CONTEXT)
    attacker = Identity.generate(random.Random(66).randbytes)
    forged = respond(hello, CONTEXT, identity=attacker, randbytes=rng.randbytes, grants=GRANTS)
    assert isinstance(forged, Accepted)
    with pytest.raises(UntrustedSourceError):
        handshake.finish(forged.reply)


def test_the_state_table_refuses_misuse() -> None:
    handshake = ReceiverHandshake(random.Random(1).randbytes, pinned())
    with pytest.raises(LocalProtocolError, match="cannot 'reply' in state 'start'"):
        handshake.finish(b"")
    handshake.hello(CONTEXT)
    with pytest.raises(LocalProtocolError, match="cannot 'hello'"):
        handshake.hello(CONTEXT)


@pytest.mark.parametrize("hello", [b"", b"\x02" + bytes(49), b"\x01\x00" + bytes(47), b"\x01\x01" + bytes(48)])
def test_a_malformed_hello_is_a_remote_error(hello: bytes) -> None:
    with pytest.raises(HandshakeError):
        respond(hello, CONTEXT, identity=SOURCE, randbytes=RNG.randbytes, grants=GRANTS)


def test_a_low_order_share_is_refused() -> None:
    hello = bytes([1, 0]) + bytes(32) + bytes(16)  # the all-zero point
    with pytest.raises(HandshakeError, match="X25519"):
        respond(hello, CONTEXT, identity=SOURCE, randbytes=RNG.randbytes, grants=GRANTS)


ALLOW = AllowList(frozenset({RECEIVER.public.digest}))


def test_a_listed_receiver_proves_its_key_and_is_admitted() -> None:
    handshake, accepted = exchange(receiver=RECEIVER, allow=ALLOW)
    assert isinstance(accepted, Accepted)
    keys: SessionKeys = handshake.finish(accepted.reply)
    assert keys.receiver == RECEIVER.public == accepted.keys.receiver


def test_a_receiver_without_a_key_or_not_listed_is_refused_and_sent_nothing() -> None:
    for receiver, says in ((None, "proved no key"), (Identity.generate(random.Random(7).randbytes), "not on")):
        _, result = exchange(receiver=receiver, allow=ALLOW)
        assert isinstance(result, Refused)
        assert says in result.reason
        assert not hasattr(result, "reply")  # nothing of the channel is sent: no key, no name


def test_a_listed_key_in_a_hello_someone_else_signed_is_refused() -> None:
    rng = random.Random(1)
    impostor = Identity.generate(random.Random(8).randbytes)
    hello = bytearray(ReceiverHandshake(rng.randbytes, pinned(), impostor).hello(CONTEXT))
    hello[50:82] = RECEIVER.public.raw  # claims the listed key; the signature is the impostor's
    result = respond(bytes(hello), CONTEXT, identity=SOURCE, randbytes=rng.randbytes, grants=GRANTS, allow=ALLOW)
    assert isinstance(result, Refused)
    assert "does not verify" in result.reason


def test_a_signed_hello_replayed_under_another_cookie_is_refused() -> None:
    rng = random.Random(1)
    hello = ReceiverHandshake(rng.randbytes, pinned(), RECEIVER).hello(CONTEXT)
    result = respond(hello, b"a later cookie", identity=SOURCE, randbytes=rng.randbytes, grants=GRANTS, allow=ALLOW)
    assert isinstance(result, Refused)
