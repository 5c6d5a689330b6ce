"""The source's side of the key exchange: answer a receiver's hello, and the gate a validated SYN passes.

:func:`respond` runs the source's half of :mod:`smocast.secure.keyexchange` in one call (an
X25519 agreement, the session keys, the group keys sealed, a signature), or refuses a receiver
that an allow-list does not admit. :class:`SourceExchange` is what the protection layer's
source keeps: the hello of the datagram in hand, offered to the core's gate, and the counts.

A receiver never loads this module: its half is :class:`~smocast.secure.keyexchange.ReceiverHandshake`
and :class:`~smocast.secure.handshake.ReceiverExchange`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from smocast.secure.errors import HandshakeError
from smocast.secure.group import GroupGrant, encode_grants
from smocast.secure.keyexchange import (
    _HELLO,
    _IDENTITY,
    _REPLY,
    _SOURCE_LABEL,
    FLAG_IDENTITY,
    VERSION,
    SessionKeys,
    _agree,
    _derive,
    _public,
    _receiver_signed,
    _share_private,
    _transcript,
)

if TYPE_CHECKING:
    from smocast.core.datagram import Address
    from smocast.secure.allowlist import AllowList
    from smocast.secure.handshake import HandshakeWire
    from smocast.secure.identity import Identity, PublicIdentity
    from smocast.secure.primitives import RandomBytes


@dataclass(frozen=True, slots=True)
class Accepted:
    """The source admits the receiver: send ``reply``; install ``keys``."""

    reply: bytes
    keys: SessionKeys


@dataclass(frozen=True, slots=True)
class Refused:
    """The source refuses the receiver; ``reason`` is for the source's own log, never sent."""

    reason: str


@dataclass(frozen=True, slots=True)
class ReceiverHello:
    """The receiver's message, decoded."""

    share: bytes
    nonce: bytes
    identity: PublicIdentity | None
    signature: bytes

    @staticmethod
    def decode(data: bytes) -> ReceiverHello:
        """Parse a hello; raise HandshakeError when it is not one."""
        if len(data) < _HELLO.size or data[0] != VERSION:
            raise HandshakeError("not a key-exchange hello of version 1")
        _, flags, share, nonce = _HELLO.unpack_from(data)
        if not flags & FLAG_IDENTITY:
            if len(data) != _HELLO.size:
                raise HandshakeError("a hello without a receiver key has trailing bytes")
            return ReceiverHello(share, nonce, None, b"")
        if len(data) != _HELLO.size + _IDENTITY.size:
            raise HandshakeError("a hello with a receiver key has the wrong length")
        raw, signature = _IDENTITY.unpack_from(data, _HELLO.size)
        return ReceiverHello(share, nonce, _public(raw), signature)


def respond(
    hello: bytes,
    context: bytes,
    *,
    identity: Identity,
    randbytes: RandomBytes,
    grants: tuple[GroupGrant, ...],
    allow: AllowList | None = None,
) -> Accepted | Refused:
    """The source's side, in one call (it keeps no state between the messages).

    Call it only for a receiver whose address the cookie exchange validated: it costs an
    X25519 agreement and a signature. With ``allow``, a receiver must prove a listed key.
    Raises HandshakeError for a malformed hello (drop it, count it).
    """
    parsed = ReceiverHello.decode(hello)
    if allow is not None:
        refusal = _check_allowed(parsed, context, allow)
        if refusal is not None:
            return refusal
    private = _share_private(randbytes)
    shared = _agree(private, parsed.share)
    share = private.public_key().public_bytes_raw()
    session_id = int.from_bytes(randbytes(8), "big")
    transcript = _transcript(context, hello, share, identity.public.raw, session_id)
    to_receiver, to_source, wrap = _derive(shared, transcript)
    sealed = wrap.seal(0, transcript, encode_grants(grants))
    signature = identity.sign(_SOURCE_LABEL + transcript + sealed)
    reply = _REPLY.pack(VERSION, share, identity.public.raw, session_id, len(sealed)) + sealed + signature
    keys = SessionKeys(session_id, identity.public, parsed.identity, to_receiver, to_source, grants)
    return Accepted(reply, keys)


def _check_allowed(hello: ReceiverHello, context: bytes, allow: AllowList) -> Refused | None:
    if hello.identity is None:
        return Refused("the receiver proved no key, and this source admits listed receivers only")
    if hello.identity.digest not in allow:
        return Refused(f"the receiver's key {hello.identity.fingerprint} is not on the allow-list")
    message = _receiver_signed(context, hello.share, hello.nonce, hello.identity.raw)
    if not hello.identity.verify(hello.signature, message):
        return Refused(f"the hello's signature does not verify for {hello.identity.fingerprint}")
    return None


@dataclass(slots=True)
class ExchangeCounts:
    """What the source's side of the exchange did; ``refused`` attempts leave no state."""

    accepted: int = 0
    refused: int = 0
    no_hello: int = 0
    malformed: int = 0


class SourceExchange:
    """The source's side: the gate a validated SYN passes, and the hello of the datagram in hand.

    The layer calls :meth:`offer` with a HELLO's hello just before it hands the SYN to the
    core, and :meth:`withdraw` right after: nothing is kept between datagrams. The core calls
    the gate (:meth:`admit`) only for a SYN whose cookie is valid.
    """

    def __init__(
        self,
        identity: Identity,
        randbytes: RandomBytes,
        wire: HandshakeWire,
        *,
        allow: AllowList | None = None,
    ) -> None:
        self.identity = identity
        self.wire = wire
        self.allow = allow
        self._randbytes = randbytes
        self._offered: tuple[Address, bytes] | None = None
        self.counts = ExchangeCounts()
        self.refusals: list[str] = []  # the latest few reasons, for the source's own log (never sent)

    def offer(self, peer: Address, hello: bytes) -> None:
        """The hello that came with the SYN about to reach the core."""
        self._offered = (peer, hello)

    def withdraw(self) -> None:
        self._offered = None

    def hello_of(self, peer: Address) -> bytes | None:
        """The hello offered for ``peer`` in the datagram in hand, if any."""
        offered = self._offered
        return offered[1] if offered is not None and offered[0] == peer else None

    def respond(self, hello: bytes, context: bytes, grants: tuple[GroupGrant, ...]) -> Accepted | None:
        """Run the source's side for ``hello`` (an address the cookie validated): Accepted, or None (counted)."""
        try:
            result = respond(
                hello, context, identity=self.identity, randbytes=self._randbytes, grants=grants, allow=self.allow
            )
        except HandshakeError as error:
            self.counts.malformed += 1
            self._note(str(error))
            return None
        if isinstance(result, Refused):
            self.counts.refused += 1
            self._note(result.reason)
            return None
        self.counts.accepted += 1
        return result

    def _note(self, reason: str) -> None:
        self.refusals = [*self.refusals[-7:], reason]
