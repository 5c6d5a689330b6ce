"""Which RST and FIN a receiver honours, and the challenge ACKs it answers near misses with (RFC 5961).

An off-path attacker who learned (or guessed) a connection id must still hit the one
stream offset the receiver expects next. The receiver honours an RST only at exactly that
offset, and a FIN only there and only when nothing beyond it was seen; a near miss (within
a receive buffer either side: the source's view lags by the data in flight) draws a
challenge ACK, which tells the real source the exact offset, so its RST lands on the second
try. Challenge ACKs are rate-limited (RFC 5961 section 7), so a spray of forgeries draws a
bounded trickle of ACKs. :class:`ControlGate` puts these rules together for one receiver.
"""

from __future__ import annotations

from enum import Enum

from smocast.smo.delivery import ReceiverStats

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


class ControlGate:
    """One receiver's judge of the source's FIN and RST: honour, answer with a challenge ACK, or
    ignore. ``window`` is the near-miss distance (its receive buffer); what is not honoured is
    counted in ``stats``."""

    __slots__ = ("_limiter", "_stats", "_window")

    def __init__(self, window: int, stats: ReceiverStats) -> None:
        self._window = window
        self._stats = stats
        self._limiter = ChallengeLimiter()

    def fin(self, seq: int, expected: int, *, beyond: bool, now: float) -> Verdict:
        """A FIN at ``seq``; ``beyond``: data was held or seen past ``expected`` (the stream went on:
        a lie, or a FIN overtaking data). HONOUR: the stream ends at ``seq``; CHALLENGE: the
        receiver must send a challenge ACK now; IGNORE: nothing to do."""
        verdict = judge(seq, expected, self._window)
        if verdict is Verdict.HONOUR and beyond:
            verdict = Verdict.CHALLENGE
        return self._settle(verdict, now)

    def rst(self, seq: int, expected: int | None, now: float) -> Verdict:
        """An RST at ``seq``; ``expected`` None: before the connection is established, when any
        RST from the source is a refusal. The verdict is as for :meth:`fin`."""
        verdict = Verdict.HONOUR if expected is None else judge(seq, expected, self._window)
        return self._settle(verdict, now)

    def _settle(self, verdict: Verdict, now: float) -> Verdict:
        if verdict is Verdict.HONOUR:
            return verdict
        self._stats.refused_controls += 1
        if verdict is Verdict.CHALLENGE and self._limiter.allow(now):
            self._stats.challenge_acks += 1
            return Verdict.CHALLENGE
        return Verdict.IGNORE
