"""When a receiver acknowledges: delayed ACKs, and the adaptive ACK frequency of TCP-SMO.

The TCP-SMO paper (section II.D) proposes one ACK per 4-8 segments after slow start while no
loss is seen. Only the source knows whether the channel is in slow start, so the source
computes the frequency (:class:`AckFrequency`) and carries it in every data header. Only a
receiver knows when *it* loses data, so the receiver (:class:`DelayedAck`) follows the
source's frequency except for a while after it saw a hole, when it ACKs every second
segment again; it always ACKs at once when data arrives out of order or fills a hole
(RFC 5681 (4.2)).
"""

from __future__ import annotations

from dataclasses import dataclass

from smocast.core.errors import ConfigError

DEFAULT_ACK_EVERY = 2  # RFC 1122 / RFC 5681: an ACK for at least every second full segment
DEFAULT_ACK_DELAY = 0.02  # seconds; RFC 5681 allows up to 500 ms, Linux uses 40 ms
LOSS_COOLDOWN_SEGMENTS = 16  # after a hole, this many in-order segments at DEFAULT_ACK_EVERY
MAX_ACK_EVERY = 255  # the header field is one byte


@dataclass(frozen=True, slots=True)
class AckFrequency:
    """The source's choice of segments per ACK.

    ``fixed`` pins it (``--ack-every``); otherwise it is ``minimum`` during slow start, then
    grows toward ``maximum`` with the window (a quarter of the window, so the ACK clock
    keeps ticking four times per round trip).
    """

    fixed: int | None = None
    minimum: int = DEFAULT_ACK_EVERY
    maximum: int = 8

    def __post_init__(self) -> None:
        values = [self.minimum, self.maximum] + ([self.fixed] if self.fixed is not None else [])
        if any(v < 1 or v > MAX_ACK_EVERY for v in values) or self.minimum > self.maximum:
            raise ConfigError(f"ACK frequency out of range 1..{MAX_ACK_EVERY}: {self}")

    def segments_per_ack(self, *, slow_start: bool, window_segments: int) -> int:
        """How many full segments a receiver may take before it must ACK."""
        if self.fixed is not None:
            return self.fixed
        if slow_start:
            return self.minimum
        return max(self.minimum, min(self.maximum, window_segments // 4))


class DelayedAck:
    """Receiver-side ACK timing: every ``n``-th in-order segment, or after ``delay`` seconds."""

    __slots__ = ("cooldown", "deadline", "delay", "unacked_segments")

    def __init__(self, delay: float = DEFAULT_ACK_DELAY) -> None:
        if delay < 0:
            raise ConfigError(f"ACK delay must be >= 0, got {delay}")
        self.delay = delay
        self.unacked_segments = 0
        self.deadline: float | None = None
        self.cooldown = 0  # in-order segments left before the source's frequency applies again

    def on_data(self, in_order: bool, every: int, now: float) -> bool:
        """A data segment arrived; return True when an ACK must go out now."""
        if not in_order:
            self.cooldown = LOSS_COOLDOWN_SEGMENTS
            return True
        self.unacked_segments += 1
        if self.cooldown:
            self.cooldown -= 1
            every = min(every, DEFAULT_ACK_EVERY)
        if self.unacked_segments >= every:
            return True
        if self.deadline is None:
            self.deadline = now + self.delay
        return False

    def due(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def on_ack_sent(self) -> None:
        """Call after sending any ACK: it covers everything received so far."""
        self.unacked_segments = 0
        self.deadline = None
