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
    before this one's first repair, echoes an older transmission too. A recovery ended by a
    repair's echo is judged again by the D-SACKs that follow it, as Linux counts its
    ``undo_retrans``: once as many late originals were reported twice as repairs were sent for
    it, every repair was needless, and its window comes back (:meth:`dsack` returns it), until
    the next recovery begins. A retransmission timeout's recovery is not judged.
    """

    __slots__ = (
        "_dsacks",
        "_ended",
        "_first_repair",
        "_persist",
        "_prior",
        "_repairs",
        "_shown",
        "_span",
        "_widened_at",
        "late",
        "seen",
        "steps",
    )

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
        self._repairs = 0  # repairs sent in it
        self._dsacks = 0  # late originals of it reported twice (D-SACK blocks)
        self._ended = False  # it ended, not undone: D-SACKs may still show every repair needless

    def hole_filled(self, child: LossState, segment: Segment | None, tsecr: int, now: float) -> None:
        """An ACK that echoes ``tsecr`` moved the cumulative ACK over ``segment``, which was a hole
        (later data was SACKed). Call it before the child forgets the segment's repairs."""
        if segment is None or not tsecr or tsecr != timestamp(segment.sent_at):
            return  # a repair filled it (or the receiver echoes nothing)
        self.seen = True  # its first transmission arrived after later data
        if child.retransmitted.get(segment.start, segment.mcast_at) is not None:
            self._needless(child, segment.sent_at, now)

    def dsack(self, child: LossState, start: int, segment: Segment | None, now: float) -> tuple[int, int] | None:
        """The receiver got the segment at ``start`` twice (a D-SACK block): its original came
        after a repair had filled the hole, so the path reorders and the repair was needless.
        ``segment``: the send buffer's, if it still holds it. A duplicate of a segment outside
        the last recovery that repaired anything (one the network made) is ignored.

        Returns the ``(cwnd, ssthresh)`` to give back (the caller hands it to the controller's
        ``undo``) when this D-SACK, after the recovery ended, shows the last of its repairs
        needless; else None."""
        low, high = self._span
        if self._first_repair is None or not low <= start < high:
            return None
        self.seen = True
        self._needless(child, None if segment is None else segment.sent_at, now)
        self._dsacks += 1
        if not self._ended or self._dsacks < self._repairs:
            return None
        prior, self._prior, self._ended = self._prior, None, False
        return prior

    def repaired(self, now: float) -> None:
        """A repair went to this receiver (alone or to the group) at ``now``."""
        if self._first_repair is None:
            self._first_repair = now
        self._repairs += 1

    def recovery_began(self, cwnd: int, ssthresh: int, una: int, snd_nxt: int) -> None:
        """A loss recovery began over ``[una, snd_nxt)``, the controller's ``cwnd`` and ``ssthresh``
        these before it: judge it; after enough recoveries without a needless repair, narrow."""
        self._prior, self._span, self._first_repair, self._shown = (cwnd, ssthresh), (una, snd_nxt), None, False
        self._repairs = self._dsacks = 0
        self._ended = False
        self._persist -= 1
        if self._persist <= 0:
            self.steps = 0
            self.late = 0.0
            self._persist = REORDER_PERSIST

    def timed_out(self) -> None:
        """The retransmission timer expired: the recovery it starts is not judged."""
        self._prior = None
        self._ended = False

    def recovery_ended(self, tsecr: int) -> tuple[int, int] | None:
        """The ACK that echoes ``tsecr`` passed the recovery point: the ``(cwnd, ssthresh)`` to give
        back (the caller hands it to the controller's ``undo``) when that echo names a
        transmission older than the recovery's first repair and a repair of it was shown
        needless, or when every repair of it was reported needless (D-SACKs); else None, and the
        D-SACKs still to come may give it back (:meth:`dsack`)."""
        prior, first = self._prior, self._first_repair
        if prior is None or first is None:
            self._prior = None
            return None
        all_dsacked = self._dsacks >= self._repairs
        older = (timestamp(first) - tsecr) % TS_MODULUS  # how long before the first repair it was sent
        if all_dsacked or (self._shown and tsecr and 0 < older < TS_MODULUS // 2):
            self._prior = None
            return prior
        self._ended = True  # judged again by the D-SACKs that follow
        return None

    def _needless(self, child: LossState, sent_at: float | None, now: float) -> None:
        """A repair was needless (its original sent at ``sent_at``, if known): wait longer."""
        self._shown = True
        if sent_at is not None:
            self.late = max(self.late, now - sent_at)  # wait that long from now on
        if now >= self._widened_at + (child.rtt.srtt or 0.0):
            self.steps += 1
            self._widened_at = now
            self._persist = REORDER_PERSIST
