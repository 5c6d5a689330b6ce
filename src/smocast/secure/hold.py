"""A receiver's group packets that arrived before the signed block that covers them.

Such a packet waits, bounded in count and bytes, until its block arrives (then it is checked
and handed to the core, or dropped as forged), or until ``hold_limit`` passes (then it is
dropped and the core recovers it as any lost packet). One packet is kept per number: a
second copy of a held number is dropped, so an insider cannot push the source's packet out
by sending its own first and then flooding (the block decides which one, if any, is real).
"""

from __future__ import annotations

from dataclasses import dataclass

from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.secure.blocks import MAX_BLOCK_PACKETS


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """How long and how much a receiver holds unverified group packets. Times in seconds.

    ``signature_wait``: a packet that waited this long makes the receiver ask the source for
    the block (and again every such interval). ``hold_limit``: then it is dropped.
    """

    max_packets: int = 1024
    max_bytes: int = 2 << 20
    signature_wait: float = 0.05
    hold_limit: float = 1.0

    def __post_init__(self) -> None:
        if self.max_packets < 1 or self.max_bytes < 1:
            raise ConfigError("a receiver holds at least one packet of at least one byte")
        if not 0 < self.signature_wait <= self.hold_limit:
            raise ConfigError("signature_wait must be positive and at most hold_limit")


class Waiting:
    """One held packet."""

    __slots__ = ("arrived", "asked", "header", "plaintext", "source")

    def __init__(self, header: bytes, plaintext: bytes, source: Address, now: float) -> None:
        self.header = header
        self.plaintext = plaintext
        self.source = source
        self.arrived = now
        self.asked: float | None = None


class HeldPackets:
    """Packets by ``(epoch, number)``, in arrival order, within the policy's bounds."""

    __slots__ = ("_held", "bytes", "next_round", "policy")

    def __init__(self, policy: HoldPolicy) -> None:
        self.policy = policy
        self._held: dict[tuple[int, int], Waiting] = {}
        self.bytes = 0
        self.next_round: float | None = None

    def __len__(self) -> int:
        return len(self._held)

    def add(self, epoch: int, number: int, header: bytes, plaintext: bytes, source: Address, now: float) -> bool:
        """Hold a packet; False (drop it) when that number is held already or the hold is full."""
        key = (epoch, number)
        policy = self.policy
        if key in self._held or len(self._held) >= policy.max_packets or self.bytes + len(plaintext) > policy.max_bytes:
            return False
        self._held[key] = Waiting(header, plaintext, source, now)
        self.bytes += len(plaintext)
        if self.next_round is None:
            self.next_round = now + policy.signature_wait
        return True

    def pop(self, epoch: int, number: int) -> Waiting | None:
        """Take the held packet ``number`` of ``epoch`` out, if any."""
        waiting = self._held.pop((epoch, number), None)
        if waiting is not None:
            self.bytes -= len(waiting.plaintext)
        if not self._held:
            self.next_round = None
        return waiting

    def due(self, now: float) -> tuple[int, list[tuple[int, int]]]:
        """One round at ``now``: drop what waited too long (returns how many) and list what to ask for.

        The caller asks the source for the block of each listed ``(epoch, number)``; one
        request covers the numbers that one block can cover after it.
        """
        policy = self.policy
        expired = [key for key, w in self._held.items() if now - w.arrived >= policy.hold_limit]
        for key in expired:
            self.pop(*key)
        asks: list[tuple[int, int]] = []
        covered: tuple[int, int] | None = None
        wait = policy.signature_wait
        for (epoch, number), waiting in sorted(self._held.items()):
            last = waiting.asked if waiting.asked is not None else waiting.arrived
            if now - last < wait:
                continue
            waiting.asked = now
            if covered is None or epoch != covered[0] or number >= covered[1]:
                asks.append((epoch, number))
                covered = (epoch, number + MAX_BLOCK_PACKETS)
        self.next_round = now + policy.signature_wait if self._held else None
        return len(expired), asks
