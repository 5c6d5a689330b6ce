"""What one receiver's path has shown of reordering, and which loss recoveries were needless.

The receiver echoes the timestamp of the segment that filled its first hole (RFC 7323) and
the source stamps every transmission, so when the cumulative ACK moves over a hole the echo
says whether the original or a repair filled it. When a repair filled it and the original
came after all, the receiver reports the duplicate in its next ACK (a D-SACK block below the
cumulative ACK, RFC 2883). Either way the source learns that the path reorders and that a
repair was needless; :mod:`smocast.smo.loss` then waits longer before it declares a loss. A
recovery that the echoes show needless gives its window back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smocast.core.timestamps import TS_MODULUS, timestamp

if TYPE_CHECKING:
    from smocast.smo.loss import LossState
    from smocast.smo.sendbuf import Segment

REORDER_PERSIST = 16  # RFC 8985 (reo_wnd_persist): loss recoveries before a widened window narrows again


class Reordering:
    """One receiver's path: reordering seen, how long late originals took, recoveries judged.

    ``seen``: an original arrived after later data (it filled a hole, or came again after its
    repair). From then on the duplicate-ACK and DupThresh rules declare nothing lost. ``late``:
    the longest a needlessly repaired original took, from its sending to the ACK that showed it
    had arrived; a segment overtaken by later data counts as lost only after that long (a path
    that delays some datagrams by many round trips, as a slower parallel link does, would
    otherwise get each of them repaired). ``steps``: each needless repair (at most one per
    round trip) widens the reordering window by a quarter of the minimum RTT, up to the SRTT
    (RFC 8985's ``reo_wnd_mult``). After :data:`REORDER_PERSIST` loss recoveries without a
    needless repair, both narrow again.

    Each fast recovery is judged as Linux judges one with timestamps (RFC 3522's detection,
    RFC 4015's response): when the ACK that ends it echoes a transmission older than the
    recovery's first repair, originals filled the holes and the repairs were needless, and its
    window comes back (:meth:`recovery_ended`). Only a recovery during which a repair was shown
    needless is judged so: a hole filled by a repair to the group, sent for other receivers
    before this one's first repair, echoes an older transmission too. A retransmission
    timeout's recovery is not judged.
    """

    __slots__ = ("_first_repair", "_persist", "_prior", "_shown", "_span", "_widened_at", "late", "seen", "steps")

    def __init__(self) -> None:
        self.late = 0.0
        self.seen = False
        self.steps = 0
        self._widened_at = float("-inf")
        self._persist = REORDER_PERSIST
        self._prior: tuple[int, int] | None = None  # cwnd and ssthresh before the recovery judged
        self._span = (0, 0)  # the stream range [una, snd_nxt) at the last recovery's start
        self._first_repair: float | None = None  # when that recovery sent its first repair
        self._shown = False  # a repair of it was shown needless

    def hole_filled(self, child: LossState, segment: Segment | None, tsecr: int, now: float) -> None:
        """An ACK that echoes ``tsecr`` moved the cumulative ACK over ``segment``, which was a hole
        (later data was SACKed). Call it before the child forgets the segment's repairs."""
        if segment is None or not tsecr or tsecr != timestamp(segment.sent_at):
            return  # a repair filled it (or the receiver echoes nothing)
        self.seen = True  # its first transmission arrived after later data
        if child.retransmitted.get(segment.start, segment.mcast_at) is not None:
            self._needless(child, segment.sent_at, now)

    def dsack(self, child: LossState, start: int, segment: Segment | None, now: float) -> None:
        """The receiver got the segment at ``start`` twice (a D-SACK block): its original came
        after a repair had filled the hole, so the path reorders and the repair was needless.
        ``segment``: the send buffer's, if it still holds it. A duplicate of a segment outside
        the last recovery that repaired anything (one the network made) is ignored."""
        low, high = self._span
        if self._first_repair is None or not low <= start < high:
            return
        self.seen = True
        self._needless(child, None if segment is None else segment.sent_at, now)

    def repaired(self, now: float) -> None:
        """A repair went to this receiver (alone or to the group) at ``now``."""
        if self._first_repair is None:
            self._first_repair = now

    def recovery_began(self, cwnd: int, ssthresh: int, una: int, snd_nxt: int) -> None:
        """A loss recovery began over ``[una, snd_nxt)``, the controller's ``cwnd`` and ``ssthresh``
        these before it: judge it; after enough recoveries without a needless repair, narrow."""
        self._prior, self._span, self._first_repair, self._shown = (cwnd, ssthresh), (una, snd_nxt), None, False
        self._persist -= 1
        if self._persist <= 0:
            self.steps = 0
            self.late = 0.0
            self._persist = REORDER_PERSIST

    def timed_out(self) -> None:
        """The retransmission timer expired: the recovery it starts is not judged."""
        self._prior = None

    def recovery_ended(self, tsecr: int) -> tuple[int, int] | None:
        """The ACK that echoes ``tsecr`` passed the recovery point: the ``(cwnd, ssthresh)`` to give
        back (the caller hands it to the controller's ``undo``) when that echo names a
        transmission older than the recovery's first repair and a repair of it was shown
        needless, else None."""
        prior, self._prior = self._prior, None
        first = self._first_repair
        if prior is None or first is None or not self._shown or not tsecr:
            return None
        older = (timestamp(first) - tsecr) % TS_MODULUS  # how long before the first repair it was sent
        return prior if 0 < older < TS_MODULUS // 2 else None

    def _needless(self, child: LossState, sent_at: float | None, now: float) -> None:
        """A repair was needless (its original sent at ``sent_at``, if known): wait longer."""
        self._shown = True
        if sent_at is not None:
            self.late = max(self.late, now - sent_at)  # wait that long from now on
        if now >= self._widened_at + (child.rtt.srtt or 0.0):
            self.steps += 1
            self._widened_at = now
            self._persist = REORDER_PERSIST
