"""The key exchange riding on the core's handshake, as the protection layer carries it.

The core's handshake stays what it is (SYN, RETRY with a cookie, SYN echoing it, SYN-ACK);
the layer adds the key exchange to two of its packets::

    receiver -> source  HELLO      clear: the SYN that echoes a cookie, and the receiver's hello
    source -> receiver  HANDSHAKE  clear: the source's signed reply; sealed under the new session:
                                   the SYN-ACK

* The first SYN (no cookie yet) and the RETRY travel as CLEAR datagrams: the source spends
  nothing on an address it has not validated, and its RETRY stays as small as the SYN.
* The hello rides only on a SYN that echoes a cookie. The source's core checks the cookie
  first and only then asks the layer's gate
  (:class:`~smocast.secure.exchange_source.SourceExchange`, which a receiver never loads), which runs the
  source's side of the exchange (an X25519 agreement and a signature) and installs the
  session. A refused receiver (not on the allow-list) gets an RST in the clear that says
  "not admitted", and no key: nothing of the channel, not even a file's name.
* The HANDSHAKE seals the core's SYN-ACK under the new session, with the clear reply in its
  associated data: the receiver finishes the exchange, installs the keys, then opens the
  SYN-ACK, so even its fields (the stream offset it starts at) are authenticated. It is
  sent again with every SYN-ACK until the receiver's first sealed packet confirms the keys.
* ``context`` binds the exchange to the connection: the channel id, the receiver's
  connection id and the cookie, which the source's HMAC bound to the receiver's address.

The wire format of the core is the caller's: a :class:`HandshakeWire` says which core
packets are the handshake's (:mod:`smocast.secure.smo` has TCP-SMO's).
"""

from __future__ import annotations

import struct
from typing import Protocol

from smocast.secure import envelope
from smocast.secure.envelope import HEADER_SIZE, Kind
from smocast.secure.errors import HandshakeError
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, SessionKeys, Trust
from smocast.secure.primitives import RandomBytes

_LENGTH = struct.Struct("!H")
MIN_HELLO_DATAGRAM = 0
"""Bytes a HELLO is padded to at least (0: unpadded); see :func:`hello_datagram`."""


class HandshakeWire(Protocol):
    """What the layer must know of a core's wire format to carry the key exchange."""

    def clear(self, packet: bytes) -> bool:
        """True for a core packet that may travel in the clear before keys exist (SYN, RETRY, RST)."""
        ...

    def hello_context(self, packet: bytes) -> bytes | None:
        """For a receiver's outgoing packet: the exchange's context if it is the SYN echoing a cookie."""
        ...

    def is_reply(self, packet: bytes) -> bool:
        """True for the source's packet that answers the hello (the SYN-ACK)."""
        ...

    def context(self, connection: int, cookie: bytes) -> bytes:
        """The context the source passes for a validated SYN: the same bytes :meth:`hello_context` gives."""
        ...

    def plain_refusal(self, data: bytes) -> bytes | None:
        """For an unprotected datagram that opens a connection (a receiver in the insecure mode):
        a plain packet that refuses it and says why, no larger than twice the datagram; else None."""
        ...


# --- the two datagrams ----------------------------------------------------------------------


def hello_datagram(packet: bytes, hello: bytes, pad_to: int = MIN_HELLO_DATAGRAM) -> bytes:
    """A HELLO: the core's SYN and the hello, in the clear, zero-padded to ``pad_to`` bytes."""
    body = envelope.header(Kind.HELLO, 0, 0) + _LENGTH.pack(len(packet)) + packet + _LENGTH.pack(len(hello)) + hello
    return body + bytes(max(0, pad_to - len(body)))


def parse_hello(data: bytes) -> tuple[bytes, bytes] | None:
    """``(core packet, hello)`` of a HELLO datagram, or None when it is not well formed."""
    offset = HEADER_SIZE
    parts = []
    for _ in range(2):
        if len(data) < offset + _LENGTH.size:
            return None
        (size,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if len(data) < offset + size:
            return None
        parts.append(data[offset : offset + size])
        offset += size
    if any(data[offset:]):
        return None  # the padding is zeros
    return parts[0], parts[1]


def parse_handshake(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(associated data, reply, ciphertext)`` of a HANDSHAKE datagram, or None."""
    if len(data) < HEADER_SIZE + _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack_from(data, HEADER_SIZE)
    end = HEADER_SIZE + _LENGTH.size + size
    if len(data) < end:
        return None
    return data[:end], data[HEADER_SIZE + _LENGTH.size : end], data[end:]


def reply_prefix(reply: bytes) -> bytes:
    """The clear part a HANDSHAKE carries after its header: the reply and its length."""
    return _LENGTH.pack(len(reply)) + reply


# --- the receiver's side -----------------------------------------------------------------------


class ReceiverExchange:
    """The receiver's side: one hello per cookie it echoes, and the keys once the reply verifies."""

    def __init__(
        self, randbytes: RandomBytes, trust: Trust, wire: HandshakeWire, identity: Identity | None = None
    ) -> None:
        self.trust = trust
        self.wire = wire
        self.identity = identity
        self._randbytes = randbytes
        self._context: bytes | None = None
        self._handshake: ReceiverHandshake | None = None
        self._hello = b""

    def hello_for(self, context: bytes) -> bytes:
        """The hello to send with a SYN bound to ``context``; a new cookie starts a new exchange."""
        if self._handshake is None or context != self._context:
            self._handshake = ReceiverHandshake(self._randbytes, self.trust, self.identity)
            self._hello = self._handshake.hello(context)
            self._context = context
        return self._hello

    def finish(self, reply: bytes) -> SessionKeys:
        """The session's keys from the source's reply.

        Raises HandshakeError (no hello sent yet, malformed, or forged: drop the datagram,
        keep waiting) or UntrustedSourceError (the source's key is not trusted: give up).
        """
        if self._handshake is None:
            raise HandshakeError("a key-exchange reply before any hello")
        return self._handshake.finish(reply)
