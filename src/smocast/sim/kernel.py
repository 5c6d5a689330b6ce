"""The event kernel: a heap of ``(time, seq, callback, argument)``.

SimPy's kernel without generators; the monotonic ``seq`` breaks ties in scheduling order,
so a run is deterministic.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

GC_THRESHOLD = (200_000, 50, 1000)  # the simulator allocates many short-lived, acyclic objects


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect cyclic garbage rarely while a long simulation runs, then restore the settings.

    A simulation makes millions of short-lived objects (events, datagrams) that reference
    counting frees at once; the cyclic collector's frequent passes over every receiver's
    long-lived state cost about a fifth of the run time at a thousand receivers. Objects
    alive when the run starts are frozen out of the collector's passes.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


class Simulator:
    """Runs callbacks in time order. ``now`` is the current simulated time in seconds."""

    __slots__ = ("_heap", "_seq", "events_run", "now")

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable[[Any], None], Any]] = []
        self._seq = 0
        self.events_run = 0

    def schedule(self, at: float, callback: Callable[[Any], None], argument: Any = None) -> None:
        """Call ``callback(argument)`` at time ``at`` (never earlier than now)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(at, self.now), self._seq, callback, argument))

    def run(self, until: float | None = None, stop: Callable[[], bool] | None = None) -> float:
        """Run events until none are left, ``until`` is reached, or ``stop()`` returns True.

        ``stop`` is checked after every event. Returns the time reached.
        """
        heap = self._heap
        pop = heapq.heappop
        while heap:
            at = heap[0][0]
            if until is not None and at > until:
                self.now = until
                break
            _, _, callback, argument = pop(heap)
            self.now = at
            callback(argument)
            self.events_run += 1
            if stop is not None and stop():
                break
        return self.now

    @property
    def pending(self) -> int:
        return len(self._heap)
