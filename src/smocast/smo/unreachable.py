"""Receivers whose port is unreachable: the kernel said nothing listens there any more.

When a receiver's process dies, the next unicast the source sends it (a repair, a tail loss
probe, the FIN) draws an ICMP port unreachable, which the runtime reads from its socket's
error queue and passes to :meth:`smocast.smo.channel.Channel.unreachable`. An ICMP error can
be stale or forged, so it only makes the receiver a suspect: if no ACK follows within a few
round trips (:func:`grace`) while it has something to acknowledge, the channel drops it
(``DropReason.UNREACHABLE``), and the others go on at once instead of waiting for the
progress timeout, which stays for receivers that are slow but alive.

Cost: O(1) per ICMP error and O(suspects) per check; nothing on the per-ACK path (an ACK on
the general path clears the child's ``unreachable_at``, one on the plain path moves its
``last_progress`` past it).
"""

from __future__ import annotations

from collections.abc import Callable

from smocast.core.timers import Timer, TimerQueue
from smocast.smo.child import Child, ChildState
from smocast.smo.sendbuf import SendBuffer

UNREACHABLE_RTTS = 4  # round trips without an ACK, after the ICMP error, before the drop
UNREACHABLE_MINIMUM = 0.2  # seconds; never sooner (the RTO's floor, and a delayed ACK's room)


def grace(child: Child) -> float:
    """How long after the ICMP error ``child`` has to show it is alive."""
    srtt = child.rtt.srtt
    return max(UNREACHABLE_RTTS * srtt, UNREACHABLE_MINIMUM) if srtt else UNREACHABLE_MINIMUM


class UnreachableWatch:
    """The channel's suspects and the one timer that judges them; ``check(now)`` is the channel's
    handler of that timer, which must call :meth:`due` and drop what it returns."""

    __slots__ = ("_buf", "_suspects", "_timers", "timer")

    def __init__(self, buffer: SendBuffer, timers: TimerQueue, check: Callable[[float], None]) -> None:
        self._buf = buffer
        self._timers = timers
        self._suspects: dict[int, Child] = {}
        self.timer = Timer(check)

    def report(self, children: list[Child], now: float) -> None:
        """An ICMP port unreachable named the address of ``children``: watch them from ``now``."""
        for child in children:
            if child.closed:
                continue
            at = child.unreachable_at
            if at is None or child.last_progress > at:  # a first error, or the first since it last proved alive
                at = child.unreachable_at = now
            self._suspects[child.index] = child
            self._arm(at + grace(child))

    def due(self, now: float) -> list[tuple[Child, str]]:
        """The suspects to drop now, each with the detail to report; the others stay watched."""
        drops: list[tuple[Child, str]] = []
        later: float | None = None
        for index, child in list(self._suspects.items()):
            at = child.unreachable_at
            if at is None or child.closed or child.last_progress > at or self._holds_nothing(child):
                child.unreachable_at = None  # alive, gone, or nothing to wait for: a later error starts over
                del self._suspects[index]
                continue
            deadline = at + grace(child)
            if now >= deadline:
                del self._suspects[index]
                detail = f"port unreachable (ICMP), no acknowledgement for {now - at:.2f} s"
                drops.append((child, detail))
            elif later is None or deadline < later:
                later = deadline
        if later is not None:
            self._arm(later)
        return drops

    def _holds_nothing(self, child: Child) -> bool:
        """Everything sent is acknowledged: a dead receiver would hold no data back yet."""
        return child.state is ChildState.ESTABLISHED and child.una >= self._buf.snd_nxt

    def _arm(self, when: float) -> None:
        due = self.timer.due
        if due is None or when < due:
            self._timers.arm(self.timer, when)
