"""One deadline heap for many internal timers, so a driver holds one timer per endpoint.

Timers re-arm far more often than they fire (an RTO restarts on every ACK), so arming only
writes the new due time; the heap gets a new entry only when the due time moves *earlier*
than the earliest entry already queued. A stale entry found at the top is re-queued at the
timer's real due time. Arming is therefore O(1) on the hot path and O(log n) otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from heapq import heappop, heappush

_NEVER = math.inf  # queued_at of a timer with no entry in the heap


class Timer:
    """A re-armable timer owned by a :class:`TimerQueue`; ``callback(now)`` runs when it fires."""

    __slots__ = ("callback", "due", "queued_at")

    def __init__(self, callback: Callable[[float], None]) -> None:
        self.callback = callback
        self.due: float | None = None
        self.queued_at = _NEVER

    @property
    def armed(self) -> bool:
        return self.due is not None


class TimerQueue:
    """A lazy min-heap of :class:`Timer` entries with deterministic tie-breaking."""

    __slots__ = ("_counter", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._counter = 0

    def arm(self, timer: Timer, when: float) -> None:
        """Make ``timer`` fire at ``when`` (replacing any earlier due time)."""
        timer.due = when
        if when < timer.queued_at:
            self._push(timer, when)

    def disarm(self, timer: Timer) -> None:
        """Stop ``timer``; its heap entry is discarded lazily."""
        timer.due = None

    def next_deadline(self) -> float | None:
        """The exact earliest due time of any armed timer, or None."""
        self._settle()
        heap = self._heap
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> int:
        """Fire every timer due at or before ``now``; return how many fired."""
        fired = 0
        heap = self._heap
        while heap:
            when, _, timer = heap[0]
            if timer.due != when:
                self._requeue_top()
            elif when > now:
                break
            else:
                heappop(heap)
                timer.queued_at = _NEVER
                timer.due = None
                timer.callback(now)
                fired += 1
        return fired

    def _settle(self) -> None:
        """Drop or re-queue stale entries until the top entry is a timer due exactly then."""
        heap = self._heap
        while heap:
            when, _, timer = heap[0]
            if timer.due == when:
                return
            self._requeue_top()

    def _requeue_top(self) -> None:
        """The top entry is stale: drop it, and queue its timer again at its real due time."""
        when, _, timer = heappop(self._heap)
        if when == timer.queued_at:
            timer.queued_at = _NEVER
        due = timer.due
        if due is not None and due < timer.queued_at:
            self._push(timer, due)

    def __len__(self) -> int:
        return len(self._heap)

    def _push(self, timer: Timer, when: float) -> None:
        self._counter += 1
        heappush(self._heap, (when, self._counter, timer))
        timer.queued_at = when
