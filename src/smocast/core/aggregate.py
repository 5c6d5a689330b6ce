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
        n = counts.get(key, 0)
        counts[key] = n + 1
        if not n and key not in self._queued:  # a live key always has its heap entry
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
        n = counts.get(new, 0)
        counts[new] = n + 1
        if not n and new not in self._queued:
            self._queued.add(new)
            heapq.heappush(self._heap, new)

    def minimum(self) -> int | None:
        """The smallest key present, or None when empty."""
        heap, counts = self._heap, self._counts
        while heap and heap[0] not in counts:
            self._queued.discard(heapq.heappop(heap))
        return heap[0] if heap else None


class KeyedMin(CountedMin):
    """One integer value per member, and the smallest value over all members.

    :meth:`set` moves a member's value in one call (the per-ACK path: O(1), no heap work
    unless the value was never seen). ``value_of`` is each member's value; read it, never
    write it (only :meth:`set` and :meth:`discard` keep it and the counts in step).
    """

    __slots__ = ("value_of",)

    def __init__(self) -> None:
        super().__init__()
        self.value_of: dict[int, int] = {}

    def set(self, member: int, value: int) -> None:
        """``member``'s value is now ``value`` (it joins when it had none)."""
        old = self.value_of.get(member)
        if old is None:
            self.value_of[member] = value
            self.add(value)
        elif old != value:
            self.move(member, old, value)

    def move(self, member: int, old: int, new: int) -> None:
        """``member``'s value goes from ``old`` (its value now, which the caller read from
        ``value_of``) to ``new``: the per-ACK form of :meth:`set`, without the lookup."""
        self.value_of[member] = new
        counts = self._counts
        n = counts[old] - 1
        if n:
            counts[old] = n
        else:
            del counts[old]
        n = counts.get(new, 0)
        counts[new] = n + 1
        if not n and new not in self._queued:  # a value nobody had: it may need a heap entry
            self._queued.add(new)
            heapq.heappush(self._heap, new)

    def discard(self, member: int) -> None:
        """``member`` leaves (nothing happens if it had no value)."""
        old = self.value_of.pop(member, None)
        if old is not None:
            self.remove(old)
