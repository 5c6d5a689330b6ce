"""The source's signed blocks (:mod:`smocast.secure.blocks` says why): the policy, the signer, the recent blocks.

A receiver never loads this module.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from smocast.core.errors import ConfigError, LocalProtocolError
from smocast.secure.blocks import MAX_BLOCK_PACKETS, SALT_SIZE, SignedBlock, packet_hash
from smocast.secure.identity import Identity
from smocast.secure.primitives import RandomBytes


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
