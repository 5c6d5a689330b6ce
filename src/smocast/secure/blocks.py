"""Source authentication against insiders: signed blocks of packet hashes.

Every receiver holds the group key, so the group key alone cannot stop one receiver from
forging packets the others accept. The source therefore signs, with its Ed25519 key, a
block: the hashes of up to ``max_packets`` consecutive group packets. The block travels to
the group just before the packets it covers (a BLOCK datagram); a receiver accepts a group
packet only when its hash is in a block whose signature verified, and holds a packet that
arrived before its block for a short while. One signature, and one verification per
receiver, is spread over the packets of a block: :class:`~smocast.secure.signing.BlockPolicy` chooses how many, and
how long the source may wait to fill a block (a live stream waits less; ``docs/security.md``
gives the measurements behind the presets).

Each hash is SHA-256 over a per-block random salt, the packet's clear header (its epoch and
number) and its plaintext, cut to 16 bytes. The salt is drawn after the packets are fixed,
so a forger needs a second preimage of a fresh hash (2^128 work), not a collision.

The source's side (the policy, the signer, the store of recent blocks) is in
:mod:`smocast.secure.signing`, which a receiver never loads; the block's format, its hash
and the receiver's verifier are here.
"""

from __future__ import annotations

import struct
from collections import deque
from enum import Enum
from hashlib import sha256 as _sha256
from typing import NamedTuple

from smocast.secure.identity import SIGNATURE_SIZE, PublicIdentity
from smocast.secure.primitives import sha256

HASH_SIZE = 16
SALT_SIZE = 16
MAX_BLOCK_PACKETS = 64
"""A block's hashes fit one datagram below a 1400-byte MTU: 64 x 16 bytes plus the rest."""
LABEL = b"smocast signed block v1"
_HEAD = struct.Struct(f"!QQB{SALT_SIZE}s")


def packet_hash(salt: bytes, header: bytes, plaintext: bytes) -> bytes:
    """The 16-byte hash a block lists for one packet."""
    return sha256(salt + header + plaintext)[:HASH_SIZE]


class SignedBlock(NamedTuple):
    """The hashes of group packets ``first`` to ``first + len(hashes) - 1`` of ``epoch``, signed."""

    epoch: int
    first: int
    salt: bytes
    hashes: bytes  # len(hashes) // HASH_SIZE hashes, in packet-number order
    signature: bytes

    @property
    def size(self) -> int:
        return len(self.hashes) // HASH_SIZE

    def signed_part(self) -> bytes:
        """What the signature covers: the label and every field but the signature."""
        return LABEL + _HEAD.pack(self.epoch, self.first, self.size, self.salt) + self.hashes

    def encode(self) -> bytes:
        """The block as it travels (in a BLOCK datagram, or a SIGNATURE control message)."""
        return _HEAD.pack(self.epoch, self.first, self.size, self.salt) + self.hashes + self.signature

    def covers(self, epoch: int, number: int) -> bool:
        return epoch == self.epoch and self.first <= number < self.first + self.size

    @staticmethod
    def decode(data: bytes) -> SignedBlock:
        """Parse a block; raise ValueError when it is not one."""
        if len(data) < _HEAD.size + SIGNATURE_SIZE:
            raise ValueError("too short for a signed block")
        epoch, first, count, salt = _HEAD.unpack_from(data)
        if not 1 <= count <= MAX_BLOCK_PACKETS or len(data) != _HEAD.size + count * HASH_SIZE + SIGNATURE_SIZE:
            raise ValueError("a signed block of the wrong length")
        end = _HEAD.size + count * HASH_SIZE
        return SignedBlock(epoch, first, salt, data[_HEAD.size : end], data[end:])


class Verdict(Enum):
    VERIFIED = "verified"
    FORGED = "forged"
    UNKNOWN = "unknown"


class BlockVerifier:
    """A receiver's check of group packets against the source's verified blocks.

    Memory is bounded: at most ``max_entries`` expected hashes (the oldest go first) and a
    bounded memory of blocks already verified (a replayed block costs no second check).
    """

    __slots__ = ("_expected", "_verified", "_verified_order", "max_entries", "source")

    def __init__(self, source: PublicIdentity, max_entries: int = 8192) -> None:
        self.source = source
        self.max_entries = max_entries
        self._expected: dict[tuple[int, int], tuple[bytes, bytes]] = {}
        self._verified: set[bytes] = set()
        self._verified_order: deque[bytes] = deque()

    def accept(self, block: SignedBlock) -> bool | None:
        """Verify ``block`` and expect its packets: True; False for a bad signature; None for a block seen before."""
        if block.signature in self._verified:
            return None
        if not self.source.verify(block.signature, block.signed_part()):
            return False
        self._remember(block.signature)
        expected, salt, hashes = self._expected, block.salt, block.hashes
        for index in range(block.size):
            expected[(block.epoch, block.first + index)] = (salt, hashes[index * HASH_SIZE : (index + 1) * HASH_SIZE])
        while len(expected) > self.max_entries:
            del expected[next(iter(expected))]
        return True

    def _remember(self, signature: bytes) -> None:
        self._verified.add(signature)
        self._verified_order.append(signature)
        if len(self._verified_order) > self.max_entries // MAX_BLOCK_PACKETS + 64:
            self._verified.discard(self._verified_order.popleft())

    def check(self, epoch: int, number: int, header: bytes, plaintext: bytes) -> Verdict:
        """Whether the source signed this packet; a verified packet's entry is used up."""
        entry = self._expected.get((epoch, number))
        if entry is None:
            return Verdict.UNKNOWN
        salt, expected = entry
        if _sha256(salt + header + plaintext).digest()[:HASH_SIZE] != expected:  # packet_hash, inlined: per packet
            return Verdict.FORGED
        del self._expected[(epoch, number)]
        return Verdict.VERIFIED
