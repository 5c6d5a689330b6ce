"""The key exchange: X25519 shares, a transcript signed by the source, HKDF-derived session keys.

Two messages, meant to ride in the handshake after the source validated the receiver's
address (the SYN that echoes a cookie, and its SYN-ACK; ``docs/security.md`` has the plan)::

    receiver -> source  ReceiverHello: X25519 share, nonce [, receiver key, its signature]
    source -> receiver  SourceHello:   X25519 share, source key, session id,
                                       group keys (sealed), signature of the transcript

``context`` binds both to the connection: the caller passes the same bytes on both sides
(the channel id, the cookie, the receiver's address as the source saw it). The transcript
hash covers the context, the receiver's whole hello, the source's share, key and session
id; the source signs it together with the sealed group keys. From the X25519 secret and the
transcript hash HKDF derives one secret per direction and a key that seals the group keys.

A source that requires receiver keys (an allow-list) admits only a hello signed by a listed
key; the receiver's signature covers the context (so a captured hello is useless once its
cookie expires) and its share (so nobody else can finish the exchange with it). A refused
receiver gets no key, hence nothing of the channel, not even a file's name.

Both sides are sans-IO: private shares and nonces come from the injected ``randbytes``. The
source's side (:func:`~smocast.secure.exchange_source.respond`) is in
:mod:`smocast.secure.exchange_source`, which a receiver never loads; the helpers both sides
use are here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from smocast.core.errors import LocalProtocolError
from smocast.secure.errors import HandshakeError, UntrustedSourceError
from smocast.secure.group import GroupGrant, decode_grants
from smocast.secure.identity import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Identity, PublicIdentity, format_fingerprint
from smocast.secure.primitives import SECRET_SIZE, PacketKey, RandomBytes, hkdf_extract_expand, sha256

VERSION = 1
LABEL = b"smocast key exchange v1"
_RECEIVER_LABEL = LABEL + b" receiver hello"
_SOURCE_LABEL = LABEL + b" source hello"
SHARE_SIZE = 32
NONCE_SIZE = 16
FLAG_IDENTITY = 0x01
_HELLO = struct.Struct(f"!BB{SHARE_SIZE}s{NONCE_SIZE}s")
_IDENTITY = struct.Struct(f"!{PUBLIC_KEY_SIZE}s{SIGNATURE_SIZE}s")
_REPLY = struct.Struct(f"!B{SHARE_SIZE}s{PUBLIC_KEY_SIZE}sQH")
MAX_CONTEXT = 0xFFFF


class SessionKeys(NamedTuple):
    """What a finished exchange gives both sides: install it in the protection layer.

    ``source_to_receiver`` and ``receiver_to_source`` are the two directions' secrets;
    ``grants`` the group keys the source handed over; ``receiver`` the receiver's proven
    key, when it sent one.
    """

    session_id: int
    source: PublicIdentity
    receiver: PublicIdentity | None
    source_to_receiver: bytes
    receiver_to_source: bytes
    grants: tuple[GroupGrant, ...]


@dataclass(frozen=True, slots=True)
class Trust:
    """Which source keys a receiver accepts: the pinned fingerprint digests, or any on first use."""

    pinned: frozenset[bytes] = frozenset()
    first_use: bool = False

    def __post_init__(self) -> None:
        if not self.pinned and not self.first_use:
            raise LocalProtocolError("no source key is trusted: pin a fingerprint, or allow trust on first use")

    def check(self, source: PublicIdentity) -> None:
        """Raise UntrustedSourceError unless ``source`` is pinned (or nothing is pinned and first use is on)."""
        if source.digest in self.pinned or (not self.pinned and self.first_use):
            return
        pinned = ", ".join(sorted(format_fingerprint(d) for d in self.pinned))
        raise UntrustedSourceError(
            f"the source proved the key {source.fingerprint}, which is not the one trusted ({pinned}): "
            "refusing it (someone may pose as the source, or its key changed: check with its owner)"
        )


def _with_length(data: bytes) -> bytes:
    if len(data) > MAX_CONTEXT:
        raise LocalProtocolError(f"a key exchange context is at most {MAX_CONTEXT} bytes")
    return len(data).to_bytes(2, "big") + data


def _share_private(randbytes: RandomBytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(randbytes(SHARE_SIZE))


def _agree(private: X25519PrivateKey, peer_share: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(peer_share))
    except ValueError:  # a low-order point: the shared secret would be all zeros
        raise HandshakeError("the peer's X25519 share is not a usable public key") from None


def _transcript(context: bytes, hello: bytes, share: bytes, source: bytes, session_id: int) -> bytes:
    return sha256(LABEL + _with_length(context) + _with_length(hello) + share + source + session_id.to_bytes(8, "big"))


def _derive(shared: bytes, transcript: bytes) -> tuple[bytes, bytes, PacketKey]:
    material = hkdf_extract_expand(shared, transcript, LABEL + b" session", 3 * SECRET_SIZE)
    wrap = PacketKey.derive(material[2 * SECRET_SIZE :], b"group keys")
    return material[:SECRET_SIZE], material[SECRET_SIZE : 2 * SECRET_SIZE], wrap


def _public(raw: bytes) -> PublicIdentity:
    try:
        return PublicIdentity(raw)
    except ValueError:
        raise HandshakeError("the peer's Ed25519 key is not a valid public key") from None


def _receiver_signed(context: bytes, share: bytes, nonce: bytes, identity: bytes) -> bytes:
    return _RECEIVER_LABEL + _with_length(context) + share + nonce + identity


class HandshakeState(Enum):
    START = "start"
    HELLO_SENT = "hello sent"
    ESTABLISHED = "established"
    FAILED = "failed"


_TRANSITIONS: dict[tuple[HandshakeState, str], HandshakeState] = {
    (HandshakeState.START, "hello"): HandshakeState.HELLO_SENT,
    (HandshakeState.HELLO_SENT, "reply"): HandshakeState.ESTABLISHED,
    (HandshakeState.HELLO_SENT, "forged reply"): HandshakeState.HELLO_SENT,
    (HandshakeState.HELLO_SENT, "untrusted source"): HandshakeState.FAILED,
}
"""Every move of the receiver's side: (state, what happened) -> next state. Anything else is misuse.

A reply that does not verify leaves the exchange waiting: anyone can send one from the
source's address, and it must not end the connection. A reply the source's own key signed
that this receiver does not trust ends it (the user must be told).
"""


class ReceiverHandshake:
    """The receiver's side: :meth:`hello`, then :meth:`finish` with the source's reply.

    ``trust`` says which source keys to accept; ``identity`` is the receiver's own key, to
    prove to a source that admits listed receivers only.
    """

    __slots__ = ("_context", "_hello", "_private", "_randbytes", "identity", "state", "trust")

    def __init__(self, randbytes: RandomBytes, trust: Trust, identity: Identity | None = None) -> None:
        self._randbytes = randbytes
        self.trust = trust
        self.identity = identity
        self.state = HandshakeState.START
        self._private: X25519PrivateKey | None = None
        self._hello = b""
        self._context = b""

    def _move(self, event: str) -> None:
        following = _TRANSITIONS.get((self.state, event))
        if following is None:
            raise LocalProtocolError(f"key exchange: cannot {event!r} in state {self.state.value!r}")
        self.state = following

    def hello(self, context: bytes) -> bytes:
        """The message to send, bound to ``context`` (the same bytes the source will pass)."""
        self._move("hello")
        self._private = _share_private(self._randbytes)
        share = self._private.public_key().public_bytes_raw()
        nonce = self._randbytes(NONCE_SIZE)
        flags = FLAG_IDENTITY if self.identity is not None else 0
        hello = _HELLO.pack(VERSION, flags, share, nonce)
        if self.identity is not None:
            raw = self.identity.public.raw
            hello += _IDENTITY.pack(raw, self.identity.sign(_receiver_signed(context, share, nonce, raw)))
        self._hello, self._context = hello, context
        return hello

    def finish(self, reply: bytes) -> SessionKeys:
        """Check the source's reply and derive the session's keys.

        Raises HandshakeError (malformed, or its signature fails: drop it and keep waiting,
        the exchange is still open) or UntrustedSourceError (a valid signature by a key this
        receiver does not trust: the exchange failed; refuse the source, say so to the user).
        """
        if self.state is not HandshakeState.HELLO_SENT:
            self._move("reply")  # raises: a reply is only expected after the hello
        try:
            keys = self._check_reply(reply)
        except HandshakeError:
            self._move("forged reply")
            raise
        except UntrustedSourceError:
            self._move("untrusted source")
            raise
        self._move("reply")
        return keys

    def _check_reply(self, reply: bytes) -> SessionKeys:
        if len(reply) < _REPLY.size + SIGNATURE_SIZE or reply[0] != VERSION:
            raise HandshakeError("not a key-exchange reply of version 1")
        _, share, raw, session_id, sealed_size = _REPLY.unpack_from(reply)
        if len(reply) != _REPLY.size + sealed_size + SIGNATURE_SIZE:
            raise HandshakeError("a key-exchange reply of the wrong length")
        sealed = reply[_REPLY.size : _REPLY.size + sealed_size]
        signature = reply[_REPLY.size + sealed_size :]
        source = _public(raw)
        transcript = _transcript(self._context, self._hello, share, raw, session_id)
        if not source.verify(signature, _SOURCE_LABEL + transcript + sealed):
            raise HandshakeError("the source's signature of the key exchange does not verify")
        self.trust.check(source)
        assert self._private is not None  # set by hello(), which the state table requires
        to_receiver, to_source, wrap = _derive(_agree(self._private, share), transcript)
        opened = wrap.open(0, transcript, sealed)
        try:
            grants = decode_grants(opened) if opened is not None else None
        except ValueError:
            grants = None
        if not grants:
            raise HandshakeError("the group keys in the source's reply do not open")
        receiver = self.identity.public if self.identity is not None else None
        return SessionKeys(session_id, source, receiver, to_receiver, to_source, grants)
