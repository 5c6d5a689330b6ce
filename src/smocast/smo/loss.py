"""Loss detection for one receiver: which of its missing segments need a repair now.

A segment the receiver has not acknowledged is deemed lost when (RFC 6675 ``IsLost``) at
least ``DUPTHRESH`` segments' worth of bytes above it are SACKed, when it is the first hole
and ``DUPTHRESH`` duplicate ACKs arrived (RFC 5681 fast retransmit), when a later segment
was SACKed and a reordering window has passed since it was sent (RFC 8985 RACK, which
recovers losses in windows too small for three duplicate ACKs), or when it lies below the
point a retransmission timeout declared lost. A segment already repaired is repaired
again only once that repair should have been acknowledged (a RACK-style timer), so a lost
repair does not have to wait for a timeout.

On a path that reorders (:class:`Reordering`), the two rules that count what arrived above a
hole would repair data still on its way; once the path has shown reordering, only the time
rule declares losses, with a window that widens each time a repair proves needless.
"""

from __future__ import annotations

from typing import Protocol

from smocast.core.ranges import RangeSet
from smocast.core.rtt import RttEstimator
from smocast.smo.reordering import Reordering
from smocast.smo.sendbuf import Segment, SendBuffer
from smocast.wire import MAX_STREAM_OFFSET

DUPTHRESH = 3  # RFC 5681 (3.2) / RFC 6675: duplicate ACKs (or SACKed segments) before loss
REORDER_FRACTION = 0.25  # RFC 8985 (RACK): reordering window as a fraction of the min RTT
REORDER_FLOOR = 0.001  # seconds; never less than a clock tick


class LossState(Protocol):
    """What loss detection reads of one receiver's sender (a :class:`~smocast.smo.child.Child`)."""

    rtt: RttEstimator
    sacked: RangeSet
    una: int
    dupacks: int
    rto_lost_upto: int
    retransmitted: dict[int, float]  # segment start -> when its unicast repair was sent
    reordering: Reordering


def reorder_wait(child: LossState) -> float:
    """How long after its transmission a segment overtaken by a SACKed one counts as lost: an
    RTT and the reordering window (a quarter of the minimum RTT, wider on a path that reordered).

    Without reordering the later segment's arrival already shows the loss, and the wait only
    spaces the ACKs: the minimum RTT. Once the path has reordered, the wait must cover the RTT
    of now, its queue included (RFC 8985's ``RACK.rtt``): here the latest sample, or the
    smoothed RTT if that is longer, so that one quick sample on a jittery path does not
    shorten the wait below what most segments take; and the longest a late original took
    (:attr:`Reordering.late`). Never longer than the retransmission timeout."""
    rtt = child.rtt
    base = rtt.min_rtt
    if base is None:
        return rtt.rto
    reordering = child.reordering
    window = base * REORDER_FRACTION * (1 + reordering.steps)
    if not reordering.seen:
        return base + min(window, rtt.srtt or window) + REORDER_FLOOR
    now_rtt = max(rtt.latest or base, rtt.srtt or base, reordering.late)
    wait = now_rtt + min(window, rtt.srtt or window) + REORDER_FLOOR
    return wait if wait < rtt.rto else rtt.rto


def repair_due_at(child: LossState, start: int, multicast_at: float | None) -> float:
    """When a repair of ``start`` may be sent: at once, or once the last one is overdue.

    The last repair is this receiver's own unicast one or the channel's latest multicast
    one (``multicast_at``), whichever is newer; it is overdue (a RACK-style timer) when
    its ACK should long have arrived.
    """
    sent = child.retransmitted.get(start)
    if multicast_at is not None and (sent is None or multicast_at > sent):
        sent = multicast_at
    if sent is None:
        return 0.0
    srtt = child.rtt.srtt
    return sent + (child.rtt.rto if srtt is None else srtt * 1.25 + 0.002)


def lost_segments(child: LossState, buf: SendBuffer, now: float, budget: int) -> tuple[list[Segment], float | None]:
    """The segments ``child`` misses that should be repaired now, in stream order, up to
    ``budget`` bytes (its repair credit; the next ACK continues from there).

    Also returns when to look again: when the first missing segment that is not lost *yet*
    will be, by the RACK time rule (RFC 8985: a later segment was SACKed but a reordering
    window has not yet passed since this one was sent), or when a repair still in flight
    becomes overdue, whichever is first.
    """
    sacked = child.sacked
    high = max(sacked.last_end or child.una, child.rto_lost_upto)
    if high <= child.una:
        return [], None
    counting = not child.reordering.seen  # the rules that count segments above a hole
    threshold = DUPTHRESH * buf.mss if counting else MAX_STREAM_OFFSET
    fast = counting and child.dupacks >= DUPTHRESH
    wait = reorder_wait(child)
    lost: list[Segment] = []
    taken = 0
    recheck: float | None = None
    examined = child.una  # each segment is looked at once, however many gaps fall in it
    for gap_start, gap_end, above in sacked.gaps_with_bytes_above(child.una, high):
        if gap_end <= examined:
            continue
        for segment in buf.segments_from(max(gap_start, examined)):
            if segment.start >= gap_end:
                break
            examined = segment.end
            if not (
                segment.start < child.rto_lost_upto
                or above >= threshold
                or (fast and segment.start <= child.una)
                or (above and now >= segment.sent_at + wait)
            ):
                # every rule only weakens further up the stream
                return lost, _earliest(recheck, segment.sent_at + wait if above else None)
            due = repair_due_at(child, segment.start, segment.mcast_at)
            if due > now:
                recheck = _earliest(recheck, due)
                continue
            lost.append(segment)
            taken += segment.end - segment.start
            if taken >= budget:
                return lost, None
    return lost, recheck


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None or a <= b else b
