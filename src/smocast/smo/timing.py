"""When a child's one timer must fire: retransmission timeout, tail loss probe, RACK, progress.

The retransmission timer restarts on every ACK that acknowledges new data (RFC 6298 (5.3)).
Moving a heap entry per ACK would be the most expensive thing an ACK does, so an ACK only
records ``timer_base = now``; the due times are derived from it here, and the child's timer,
armed at an earlier due time, re-arms itself when it fires early. The timer therefore fires
about once per probe timeout per child, instead of being moved on every ACK. These functions
only read the child.
"""

from __future__ import annotations

from typing import Protocol

from smocast.core.rtt import RttEstimator
from smocast.smo.sendbuf import SendBuffer

TLP_ACK_DELAY = 0.025  # RFC 8985 (7.2): allow the receiver's delayed ACK while it may hold segments
TLP_MINIMUM = 0.002  # seconds; a probe timeout never shorter than this


class TimerState(Protocol):
    """What the due times are derived from: one receiver's sender (a :class:`~smocast.smo.child.Child`)."""

    rtt: RttEstimator
    una: int
    timer_base: float
    probe_sent: bool
    rack_due: float | None
    last_progress: float


def probe_due(child: TimerState, buf: SendBuffer, mss: int) -> float | None:
    """When the tail loss probe (RFC 8985 TLP) is due, or None if no probe is pending.

    RFC 8985 allows the receiver's delayed-ACK time when one segment is in flight, because a
    receiver ACKs every second segment at once. A TCP-SMO receiver follows the ACK frequency
    the source carries in DATA (``buf.ack_hint``) and may hold one segment less than that for
    its delayed-ACK timer, so the allowance applies while fewer than that many are out. The
    probe counts from the later of the last ACK that advanced and the last new segment sent
    (RFC 8985 7.2: the timer restarts when new data goes out), so a source that its
    application limits is not probing segments that are still on their way.
    """
    rtt = child.rtt
    srtt = rtt.srtt
    if srtt is None or rtt.backoff != 1 or child.probe_sent:
        return None
    probe = 2 * srtt
    if buf.snd_nxt - child.una < max(2, buf.ack_hint) * mss:
        probe += TLP_ACK_DELAY  # fewer than ack_every segments out: the receiver may delay its ACK
    if probe >= rtt.rto:
        return None
    return max(child.timer_base, buf.last_sent_at) + max(probe, TLP_MINIMUM)


def next_due(child: TimerState, buf: SendBuffer, mss: int, progress_timeout: float | None) -> float:
    """The earliest time the child's timer must fire while it has data outstanding."""
    due = child.timer_base + child.rtt.rto
    probe = probe_due(child, buf, mss)
    if probe is not None and probe < due:
        due = probe
    rack = child.rack_due
    if rack is not None and rack < due:
        due = rack
    if progress_timeout is not None and child.last_progress + progress_timeout < due:
        due = child.last_progress + progress_timeout
    return due
