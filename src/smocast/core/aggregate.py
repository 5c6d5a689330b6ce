"""A multiset of integers with O(1) add/remove and amortised O(log k) minimum.

The source aggregates a value per receiver (congestion window, receive window) into one
channel value on every ACK. Scanning all receivers per ACK costs O(N); this keeps a count
per distinct value and a lazy heap of the distinct values, so the cost per ACK does not
grow with the number of receivers (k is the number of distinct values, not receivers).
"""

from __future__ import annotations

import heapq


class CountedMin:
    """Counts of integer keys with the smallest present key available in amortised O(log k)."""

    __slots__ = ("_counts", "_heap", "_queued", "size")

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._heap: list[int] = []
        self._queued: set[int] = set()  # keys with an entry in the heap, live or stale
        self.size = 0

    def add(self, key: int) -> None:
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1
        if key not in self._queued:
            self._queued.add(key)
            heapq.heappush(self._heap, key)
        self.size += 1

    def remove(self, key: int) -> None:
        """Remove one occurrence of ``key``; the caller must have added it."""
        counts = self._counts
        n = counts[key] - 1
        if n:
            counts[key] = n
        else:
            del counts[key]
        self.size -= 1

    def replace(self, old: int, new: int) -> None:
        """Move one member from ``old`` to ``new`` (a receiver's value changed)."""
        if old == new:
            return
        counts = self._counts
        n = counts[old] - 1
        if n:
            counts[old] = n
        else:
            del counts[old]
        counts[new] = counts.get(new, 0) + 1
        if new not in self._queued:
            self._queued.add(new)
            heapq.heappush(self._heap, new)

    def minimum(self) -> int | None:
        """The smallest key present, or None when empty."""
        heap, counts = self._heap, self._counts
        while heap and heap[0] not in counts:
            self._queued.discard(heapq.heappop(heap))
        return heap[0] if heap else None
