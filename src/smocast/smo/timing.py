"""When a child's one timer must fire: retransmission timeout, tail loss probe, RACK, progress.

The retransmission timer restarts on every ACK that acknowledges new data (RFC 6298 (5.3)).
Moving a heap entry per ACK would be the most expensive thing an ACK does, so an ACK only
records ``timer_base = now``; the due times are derived from it here, and the child's timer,
armed at an earlier due time, re-arms itself when it fires early. The timer therefore fires
about once per probe timeout per child, instead of being moved on every ACK. These functions
only read the child.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smocast.smo.child import Child

TLP_ACK_DELAY = 0.025  # RFC 8985 (7.2): allow the receiver's delayed ACK when one segment is out
TLP_MINIMUM = 0.002  # seconds; a probe timeout never shorter than this


def probe_due(child: Child, snd_nxt: int, mss: int) -> float | None:
    """When the tail loss probe (RFC 8985 TLP) is due, or None if no probe is pending."""
    rtt = child.rtt
    srtt = rtt.srtt
    if srtt is None or rtt.backoff != 1 or child.probe_sent:
        return None
    probe = 2 * srtt
    if child.una + mss >= snd_nxt:
        probe += TLP_ACK_DELAY  # one segment out: the receiver may delay its ACK
    if probe >= rtt.rto:
        return None
    return child.timer_base + max(probe, TLP_MINIMUM)


def next_due(child: Child, snd_nxt: int, mss: int, progress_timeout: float | None) -> float:
    """The earliest time the child's timer must fire while it has data outstanding."""
    due = child.timer_base + child.rtt.rto
    probe = probe_due(child, snd_nxt, mss)
    if probe is not None and probe < due:
        due = probe
    rack = child.rack_due
    if rack is not None and rack < due:
        due = rack
    if progress_timeout is not None and child.last_progress + progress_timeout < due:
        due = child.last_progress + progress_timeout
    return due
