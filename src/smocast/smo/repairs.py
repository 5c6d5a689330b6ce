"""How the channel sends the repairs a child asked for: to that receiver alone, or to the group.

Each segment counts the receivers that reported it lost. When that count reaches
``max(3, ceil(threshold * live))`` (5% by default) the segment goes out once to the whole
group and every reporter is covered; until then each reporter gets its own unicast repair.
A loss seen by one or two receivers always goes by unicast: the first reporter already has
its unicast repair, so for the second one a multicast saves nothing on the source's link and
lands on every other receiver's link and CPU as a duplicate. The router writes only the
repair counters of the channel's :class:`~smocast.smo.stats.ChannelStats`.
"""

from __future__ import annotations

import math

from smocast.smo.child import Child
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceOutbox
from smocast.smo.sendbuf import Segment, SendBuffer
from smocast.smo.stats import ChannelStats
from smocast.smo.transmit import Transmitter

MIN_MULTICAST_REPORTERS = 3
"""The fewest reporters of one segment that send it to the group. At 2% independent loss and
32 receivers on the testbed, 3 instead of 2 cut the receivers' CPU by 24% and the transfer's
time by 25% (three paired runs), for 4% more repair packets from the source."""


def multicast_threshold(live: int, fraction: float) -> int:
    """Receivers that must miss a segment before it is repaired by multicast (at least three)."""
    return max(MIN_MULTICAST_REPORTERS, math.ceil(fraction * live - 1e-9))


class RepairRouter:
    """Sends repairs by unicast or multicast for one channel."""

    __slots__ = ("_buf", "_fraction", "_members", "_out", "_stats", "_transmit")

    def __init__(
        self,
        fraction: float,
        members: Membership,
        buffer: SendBuffer,
        out: SourceOutbox,
        transmit: Transmitter,
        stats: ChannelStats,
    ) -> None:
        self._fraction = fraction
        self._members = members
        self._buf = buffer
        self._out = out
        self._transmit = transmit
        self._stats = stats

    def route(self, segment: Segment, child: Child, now: float) -> None:
        """``child`` misses ``segment``: repair it to the child, or to the group once enough miss it."""
        live = self._members.live
        if live >= 2:
            missing = segment.missing
            if missing is None:
                missing = segment.missing = set()
            missing.add(child.index)
            if len(missing) >= multicast_threshold(live, self._fraction):
                self._to_group(segment, missing, now)
                return
        self.to_child(segment, child, now)

    def to_child(self, segment: Segment, child: Child, now: float) -> None:
        """Repair ``segment`` to ``child`` alone (always so for a tail loss probe)."""
        child.note_unicast_repair(segment.start, now)
        self._count(unicast=True, size=segment.end - segment.start)
        self._transmit.repair_sent(segment.end - segment.start, now)
        self._out.repair(segment.start, segment.payload, segment.flags, now, child.address)

    def from_history(self, child: Child, pieces: list[tuple[int, int]], now: float) -> None:
        """Catch-up from before the send buffer, to ``child`` alone, each ``(offset, length)`` read
        from history as it goes out and as the rate cap allows: a piece the pacer refuses is
        held with those after it, and ``child`` waits in line (:meth:`Transmitter.next_catch_up`)."""
        transmit, catch_up = self._transmit, child.catch_up
        if catch_up is None:
            return
        for n, (offset, length) in enumerate(pieces):
            if not transmit.catch_up_allowed(length, now):
                child.catch_up_stopped(offset, sum(size for _, size in pieces[n:]), held=True)
                transmit.hold_catch_up(child.index, now)
                self._stats.catch_up_holds += 1
                return
            payload = catch_up.read(offset, length)
            if payload:
                self._count(unicast=True, size=len(payload))
                self._stats.catch_up_pieces += 1
                self._stats.catch_up_bytes += len(payload)
                self._out.repair(offset, payload, 0, now, child.address)
            if len(payload) < length:  # the history ends sooner: go on from there later
                unsent = length - len(payload) + sum(size for _, size in pieces[n + 1 :])
                child.catch_up_stopped(offset + len(payload), unsent, held=False)
                return

    def serve_held_catch_up(self, now: float) -> None:
        """Catch-up the pacer held goes on while the pacer has room, one receiver after another
        in the order they were held (each rejoins the line if refused again)."""
        while (index := self._transmit.next_catch_up(now)) is not None:
            child = self._members.by_index(index)
            if child is not None:
                self.from_history(child, child.resume_catch_up(), now)

    def _to_group(self, segment: Segment, reporters: set[int], now: float) -> None:
        for index in reporters:
            reporter = self._members.by_index(index)
            if reporter is not None:
                reporter.note_multicast_repair(now)
        self._buf.note_multicast_repair(segment, now)
        self._transmit.multicast_sent(now)
        self._transmit.repair_sent(segment.end - segment.start, now)
        self._count(unicast=False, size=segment.end - segment.start)
        self._out.repair(segment.start, segment.payload, segment.flags, now, None)

    def _count(self, *, unicast: bool, size: int) -> None:
        stats = self._stats
        if unicast:
            stats.repair_unicast += 1
        else:
            stats.repair_multicast += 1
        stats.bytes_repair += size
