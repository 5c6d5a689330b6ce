"""Which RST and FIN a receiver honours, and the challenge ACKs it answers near misses with (RFC 5961).

An off-path attacker who learned (or guessed) a connection id must still hit the one
stream offset the receiver expects next. The receiver honours an RST only at exactly that
offset, and a FIN only there and only when nothing beyond it was seen; a near miss (within
a receive buffer either side: the source's view lags by the data in flight) draws a
challenge ACK, which tells the real source the exact offset, so its RST lands on the second
try. Challenge ACKs are rate-limited (RFC 5961 section 7), so a spray of forgeries draws a
bounded trickle of ACKs.
"""

from __future__ import annotations

from enum import Enum

CHALLENGE_ACKS_PER_SECOND = 10  # the most challenge ACKs a receiver sends in any one-second interval


class Verdict(Enum):
    HONOUR = "honour"
    CHALLENGE = "challenge"  # a near miss: answer with a challenge ACK (if the limiter allows)
    IGNORE = "ignore"


def judge(seq: int, expected: int, window: int) -> Verdict:
    """An RST or FIN at stream offset ``seq`` when the receiver expects ``expected`` next."""
    if seq == expected:
        return Verdict.HONOUR
    if abs(seq - expected) <= window:
        return Verdict.CHALLENGE
    return Verdict.IGNORE


class ChallengeLimiter:
    """At most :data:`CHALLENGE_ACKS_PER_SECOND` challenge ACKs in each one-second interval."""

    __slots__ = ("_count", "_since")

    def __init__(self) -> None:
        self._since = float("-inf")
        self._count = 0

    def allow(self, now: float) -> bool:
        """True when a challenge ACK may go out at ``now`` (and count it)."""
        if now - self._since >= 1.0:
            self._since, self._count = now, 0
        if self._count >= CHALLENGE_ACKS_PER_SECOND:
            return False
        self._count += 1
        return True
