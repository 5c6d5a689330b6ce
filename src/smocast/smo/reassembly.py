"""The receiver's reassembly buffer: out-of-order segments in, in-order bytes out, exactly once."""

from __future__ import annotations

from smocast.core.ranges import RangeSet


class Reassembly:
    """Holds segments above ``rcv_nxt`` until the gap below them is filled.

    ``offer`` returns the in-order bytes a segment makes deliverable (possibly empty); every
    stream byte is returned exactly once, whatever duplicates or overlaps arrive.
    """

    __slots__ = ("_held", "capacity", "marks", "ranges", "rcv_nxt")

    def __init__(self, start: int, capacity: int) -> None:
        self.rcv_nxt = start
        self.capacity = capacity  # most bytes held out of order
        self.ranges = RangeSet()  # what is held above rcv_nxt
        self._held: dict[int, bytes] = {}
        self.marks: dict[int, float] = {}  # held segment start -> its playout deadline

    @property
    def held_bytes(self) -> int:
        return self.ranges.total

    def is_new(self, seq: int, end: int) -> bool:
        """True when ``[seq, end)`` has a byte not yet received."""
        if end <= self.rcv_nxt:
            return False
        return not self.ranges.contains(max(seq, self.rcv_nxt), end)

    def offer(self, seq: int, payload: bytes, mark: float | None = None) -> list[bytes]:
        """Take one segment; return the chunks that are now deliverable in order.

        ``mark`` is kept with a segment that has to wait (the real-time receiver keeps its
        playout deadline there); it stays in ``marks`` until the segment is delivered or
        skipped.
        """
        end = seq + len(payload)
        if end <= self.rcv_nxt:
            return []
        if seq > self.rcv_nxt:
            self._hold(seq, payload, end)
            if mark is not None and seq in self._held:
                self.marks[seq] = mark
            return []
        chunk = payload[self.rcv_nxt - seq :] if seq < self.rcv_nxt else payload
        self.rcv_nxt = end
        chunks = [chunk]
        if self.ranges:
            self._drain(chunks)
        return chunks

    def skip_to(self, offset: int) -> list[bytes]:
        """Give up on everything below ``offset`` (real-time mode); return what follows in order."""
        if offset <= self.rcv_nxt:
            return []
        self.rcv_nxt = offset
        chunks: list[bytes] = []
        self._drain(chunks)
        return chunks

    def _hold(self, seq: int, payload: bytes, end: int) -> None:
        if self.ranges.contains(seq, end):
            return
        if self.ranges.total + len(payload) > self.capacity:
            return  # beyond the advertised window: the source will send it again
        self.ranges.add(seq, end)
        previous = self._held.get(seq)
        if previous is None or len(previous) < len(payload):
            self._held[seq] = payload

    def _drain(self, chunks: list[bytes]) -> None:
        """Append held data that now continues the stream, and forget what fell below it."""
        ranges, held = self.ranges, self._held
        while True:
            first = ranges.first_start
            if first is None or first > self.rcv_nxt:
                break
            payload = held.pop(self.rcv_nxt, None)
            if payload is None:
                payload = self._overlapping(self.rcv_nxt)
                if payload is None:
                    break
            else:
                ranges.discard_below(self.rcv_nxt + len(payload))
            chunks.append(payload)
            self.rcv_nxt += len(payload)
        ranges.discard_below(self.rcv_nxt)
        if held and not ranges:
            held.clear()  # only stale overlaps can remain once nothing is held above rcv_nxt
        marks = self.marks
        if marks:
            for start in [s for s in marks if s < self.rcv_nxt or s not in held]:
                del marks[start]

    def first_held(self) -> int | None:
        """Start of the lowest segment held above the hole, or None."""
        return self.ranges.first_start

    def _overlapping(self, offset: int) -> bytes | None:
        """The tail, from ``offset``, of a held segment that starts below it (rare)."""
        best: tuple[int, bytes] | None = None
        for start, payload in self._held.items():
            if start < offset < start + len(payload) and (best is None or start + len(payload) > best[0]):
                best = (start + len(payload), payload[offset - start :])
        if best is None:
            return None
        self.ranges.discard_below(best[0])
        return best[1]
