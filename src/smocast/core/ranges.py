"""Sets of byte ranges: the receiver's reassembly map and the sender's SACK scoreboard.

Ranges are half-open ``[start, end)`` over 64-bit byte offsets, so sequence arithmetic is
plain integer arithmetic (a 64-bit byte counter does not wrap in practice).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator


class RangeSet:
    """Disjoint, non-adjacent ``[start, end)`` ranges kept sorted; few ranges are expected."""

    __slots__ = ("_ends", "_starts", "total")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.total = 0

    def __len__(self) -> int:
        return len(self._starts)

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self._starts, self._ends, strict=True)

    def __repr__(self) -> str:
        return f"RangeSet({list(self)})"

    @property
    def first_start(self) -> int | None:
        return self._starts[0] if self._starts else None

    @property
    def last_end(self) -> int | None:
        return self._ends[-1] if self._ends else None

    def add(self, start: int, end: int) -> int:
        """Insert ``[start, end)``, merging neighbours; return how many bytes were new."""
        if end <= start:
            return 0
        starts, ends = self._starts, self._ends
        lo = bisect_left(ends, start)
        hi = bisect_right(starts, end)
        if lo == hi:
            starts.insert(lo, start)
            ends.insert(lo, end)
            self.total += end - start
            return end - start
        covered = sum(ends[i] - starts[i] for i in range(lo, hi))
        new_start = min(start, starts[lo])
        new_end = max(end, ends[hi - 1])
        starts[lo:hi] = [new_start]
        ends[lo:hi] = [new_end]
        added = (new_end - new_start) - covered
        self.total += added
        return added

    def contains(self, start: int, end: int) -> bool:
        """True when all of ``[start, end)`` is in the set."""
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and self._ends[i] >= end

    def overlaps(self, start: int, end: int) -> bool:
        """True when any byte of ``[start, end)`` is in the set."""
        i = bisect_left(self._ends, start + 1)
        return i < len(self._starts) and self._starts[i] < end

    def discard_below(self, point: int) -> None:
        """Forget every byte below ``point`` (the cumulative ACK moved there)."""
        starts, ends = self._starts, self._ends
        if not starts or starts[0] >= point:
            return
        i = bisect_right(ends, point)
        self.total -= sum(ends[k] - starts[k] for k in range(i))
        del starts[:i]
        del ends[:i]
        if starts and starts[0] < point:
            self.total -= point - starts[0]
            starts[0] = point

    def bytes_above(self, point: int) -> int:
        """How many bytes of the set lie at or above ``point``."""
        starts, ends = self._starts, self._ends
        i = bisect_right(ends, point)
        if i == len(starts):
            return 0
        above = sum(ends[k] - starts[k] for k in range(i + 1, len(starts)))
        return above + ends[i] - max(starts[i], point)

    def gaps(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Yield the ``[a, b)`` sub-ranges of ``[start, end)`` that are *not* in the set.

        O(log n + the ranges that meet ``[start, end)``), so a reassembly buffer can afford it
        for every segment.
        """
        starts, ends = self._starts, self._ends
        cursor = start
        for i in range(bisect_right(ends, start), len(starts)):
            s = starts[i]
            if s >= end:
                break
            if s > cursor:
                yield cursor, s
            cursor = ends[i]
            if cursor >= end:
                return
        if cursor < end:
            yield cursor, end

    def gaps_with_bytes_above(self, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """Like :meth:`gaps`, each gap with how many bytes of the set lie above it; O(ranges)."""
        starts, ends = self._starts, self._ends
        above = self.total
        cursor = start
        for s, e in zip(starts, ends, strict=True):
            if e <= cursor:
                above -= e - s
                continue
            if s >= end:
                break
            if s > cursor:
                yield cursor, s, above
            above -= e - s
            cursor = max(cursor, e)
            if cursor >= end:
                return
        if cursor < end:
            yield cursor, end, max(above, 0)

    def blocks_newest_first(self, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` ranges, highest first: the order a receiver reports SACK blocks."""
        n = len(self._starts)
        return [(self._starts[i], self._ends[i]) for i in range(n - 1, max(n - 1 - limit, -1), -1)]
