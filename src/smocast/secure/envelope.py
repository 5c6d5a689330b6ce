"""The protected datagram: a small clear header, then the AEAD ciphertext of a core's packet.

Layout, big-endian, 18 bytes of header (authenticated as the AEAD's associated data)::

    0  u8   marker (0xC5: not a plain smocast packet, whose first byte is its version)
    1  u8   kind (:class:`Kind`)
    2  u64  key id: the session id (UNICAST, CONTROL) or the group key's epoch (GROUP, BLOCK)
    10 u64  packet number: counts up per key and direction; the AEAD nonce is built from it
    18 ..   ciphertext of the plaintext, then the 16-byte tag (none for CLEAR)

The layer does not look inside the core's packet: whatever ``wire`` encodes travels as the
plaintext. That keeps the layer independent of the wire format.
"""

from __future__ import annotations

import struct
from enum import IntEnum

from smocast.secure.primitives import TAG_SIZE

MARKER = 0xC5
_HEADER = struct.Struct("!BBQQ")
HEADER_SIZE = _HEADER.size
KEY_AND_NUMBER = struct.Struct("!QQ")
"""The key id and packet number, at offset 2 of the header (a hot path reads them alone)."""
OVERHEAD = HEADER_SIZE + TAG_SIZE
"""Bytes the layer adds to each core packet: a core must leave this much room below the path MTU."""


class Kind(IntEnum):
    """What a protected datagram carries."""

    UNICAST = 1
    """A core packet to or from one peer, under that session's key for its direction."""
    CONTROL = 2
    """A message of the layer itself (key update or request, block signature request or reply), same keys."""
    GROUP = 3
    """A core packet to the group, under the epoch's group key; a signed block covers it."""
    BLOCK = 4
    """A block of packet hashes signed by the source, to the group under the epoch's key."""
    CLEAR = 5
    """A core packet in the clear: only the handshake's, when the caller allows it."""
    HELLO = 6
    """A receiver's handshake packet in the clear with its key-exchange hello (:mod:`smocast.secure.handshake`)."""
    HANDSHAKE = 7
    """The source's answer: the key-exchange reply in the clear, then the core's packet under the new session."""


_KINDS = {int(k): k for k in Kind}


def header(kind: Kind, key_id: int, number: int) -> bytes:
    """The 18 header bytes of a datagram."""
    return _HEADER.pack(MARKER, kind, key_id, number)


def parse(data: bytes | memoryview) -> tuple[Kind, int, int] | None:
    """``(kind, key id, packet number)`` of a protected datagram, or None if it is not one."""
    if len(data) < HEADER_SIZE or data[0] != MARKER:
        return None
    _, kind, key_id, number = _HEADER.unpack_from(data)
    found = _KINDS.get(kind)
    if found is None:
        return None
    if found is not Kind.CLEAR and found is not Kind.HELLO and len(data) < OVERHEAD:
        return None
    return found, key_id, number


def clear(plaintext: bytes) -> bytes:
    """A CLEAR datagram carrying ``plaintext`` as it is."""
    return header(Kind.CLEAR, 0, 0) + plaintext
