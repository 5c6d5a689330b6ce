"""Source authentication against insiders: signed blocks of packet hashes.

Every receiver holds the group key, so the group key alone cannot stop one receiver from
forging packets the others accept. The source therefore signs, with its Ed25519 key, a
block: the hashes of up to ``max_packets`` consecutive group packets. The block travels to
the group just before the packets it covers (a BLOCK datagram); a receiver accepts a group
packet only when its hash is in a block whose signature verified, and holds a packet that
arrived before its block for a short while. One signature, and one verification per
receiver, is spread over the packets of a block: :class:`BlockPolicy` chooses how many, and
how long the source may wait to fill a block (a live stream waits less; ``docs/security.md``
gives the measurements behind the presets).

Each hash is SHA-256 over a per-block random salt, the packet's clear header (its epoch and
number) and its plaintext, cut to 16 bytes. The salt is drawn after the packets are fixed,
so a forger needs a second preimage of a fresh hash (2^128 work), not a collision.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass
from enum import Enum
from hashlib import sha256 as _sha256
from typing import NamedTuple

from smocast.core.errors import ConfigError, LocalProtocolError
from smocast.secure.identity import SIGNATURE_SIZE, Identity, PublicIdentity
from smocast.secure.primitives import RandomBytes, sha256

HASH_SIZE = 16
SALT_SIZE = 16
MAX_BLOCK_PACKETS = 64
"""A block's hashes fit one datagram below a 1400-byte MTU: 64 x 16 bytes plus the rest."""
LABEL = b"smocast signed block v1"
_HEAD = struct.Struct(f"!QQB{SALT_SIZE}s")


@dataclass(frozen=True, slots=True)
class BlockPolicy:
    """How many group packets one signature covers, and how long a packet may wait for its block.

    ``max_packets``: a block is signed when it holds this many. ``max_delay`` (seconds): or
    when its first packet has waited this long; 0 signs at the end of every turn of the
    pump, whatever the block holds (the runtime's batches set the block size).
    """

    max_packets: int = 32
    max_delay: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_packets <= MAX_BLOCK_PACKETS:
            raise ConfigError(f"a signed block covers 1 to {MAX_BLOCK_PACKETS} packets, not {self.max_packets}")
        if self.max_delay < 0:
            raise ConfigError(f"a block's delay cannot be negative ({self.max_delay}s)")


FILE_BLOCKS = BlockPolicy(max_packets=64, max_delay=0.005)
"""For files: the largest blocks, filled for up to 5 ms: at most max(rate / 64, 200) signatures
a second for each receiver to verify (docs/security.md has the measurements behind it)."""
LIVE_BLOCKS = BlockPolicy(max_packets=16, max_delay=0.002)
"""For live streams: at most 2 ms (and 16 packets) added to a packet's latency."""


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


class BlockSigner:
    """The source's block being filled: consecutive group packets of one epoch, signed on demand.

    After each :meth:`add`, the caller signs (:meth:`sign`) when :attr:`full`, or at
    :attr:`due` (the first packet's time plus the policy's delay), and sends the block
    before the packets it covers.
    """

    __slots__ = ("_identity", "_items", "_randbytes", "due", "epoch", "first", "policy")

    def __init__(self, identity: Identity, randbytes: RandomBytes, policy: BlockPolicy) -> None:
        self._identity = identity
        self._randbytes = randbytes
        self.policy = policy
        self._items: list[tuple[bytes, bytes]] = []
        self.epoch = 0
        self.first = 0
        self.due: float | None = None

    @property
    def pending(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return len(self._items) >= self.policy.max_packets

    def add(self, epoch: int, number: int, header: bytes, plaintext: bytes, now: float) -> None:
        """Cover the packet ``number`` of ``epoch`` (the next one of the block)."""
        items = self._items
        if not items:
            self.epoch, self.first, self.due = epoch, number, now + self.policy.max_delay
        elif epoch != self.epoch or number != self.first + len(items):
            raise LocalProtocolError("a block covers consecutive packets of one epoch: sign it first")
        items.append((header, plaintext))

    def sign(self) -> SignedBlock:
        """Sign the packets added since the last block; the caller sends it, then them."""
        salt = self._randbytes(SALT_SIZE)
        hashes = b"".join(packet_hash(salt, header, plaintext) for header, plaintext in self._items)
        unsigned = SignedBlock(self.epoch, self.first, salt, hashes, b"")
        block = unsigned._replace(signature=self._identity.sign(unsigned.signed_part()))
        self._items = []
        self.due = None
        return block


class BlockStore:
    """The source's recent blocks, to answer a receiver that missed one (bounded to ``retain``)."""

    __slots__ = ("_blocks",)

    def __init__(self, retain: int = 1024) -> None:
        self._blocks: deque[SignedBlock] = deque(maxlen=retain)

    def add(self, block: SignedBlock) -> None:
        self._blocks.append(block)

    def find(self, epoch: int, number: int) -> SignedBlock | None:
        """The retained block covering packet ``number`` of ``epoch`` (newest first: requests are recent)."""
        for block in reversed(self._blocks):
            if block.covers(epoch, number):
                return block
        return None


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
