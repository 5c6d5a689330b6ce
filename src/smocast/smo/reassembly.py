"""The receiver's reassembly buffer: out-of-order segments in, in-order bytes out, exactly once.

Every byte is stored once, whatever arrives: a segment that overlaps what is held is trimmed
to its new bytes, and small neighbouring pieces are merged, so a sender that repeats one new
byte per segment leaves one growing piece, not one object per segment. What it holds is
bounded by ``capacity`` bytes of data plus a constant of bookkeeping:

* at most :data:`MAX_HELD_RANGES` separate ranges above the hole (a segment that would start
  one more is refused: the source sends it again), as FreeBSD bounds its reassembly queue;
* pieces of at most :data:`PIECE_MERGE_LIMIT` bytes once merged, so adjacent pieces always
  add up to more than half of it;
* at most :data:`MAX_MARKS` playout marks.
"""

from __future__ import annotations

from smocast.core.ranges import RangeSet

MAX_HELD_RANGES = 1024
"""Separate held ranges (holes below them) at most; about 250 bytes of bookkeeping each."""
PIECE_MERGE_LIMIT = 16 * 1024
"""Neighbouring pieces merge while together they fit this many bytes (a copy of at most this)."""
MAX_MARKS = 4096
"""Playout marks kept at most (real-time mode); segments past it wait for a repair instead."""


class Reassembly:
    """Holds segments above ``rcv_nxt`` until the gap below them is filled.

    ``offer`` returns the in-order bytes a segment makes deliverable (possibly empty); every
    stream byte is returned exactly once, whatever duplicates or overlaps arrive. Held bytes
    are disjoint pieces that tile ``ranges`` exactly.
    """

    __slots__ = ("_ends", "_pieces", "capacity", "marks", "ranges", "rcv_nxt", "refused")

    def __init__(self, start: int, capacity: int) -> None:
        self.rcv_nxt = start
        self.capacity = capacity  # most bytes held out of order
        self.ranges = RangeSet()  # what is held above rcv_nxt
        self._pieces: dict[int, bytes] = {}  # piece start -> its bytes; disjoint, tiling ranges
        self._ends: dict[int, int] = {}  # piece end -> piece start (to find a left neighbour)
        self.marks: dict[int, float] = {}  # held segment start -> its playout deadline
        self.refused = 0  # segments not held: past the capacity or the range limit

    @property
    def held_bytes(self) -> int:
        return self.ranges.total

    @property
    def pieces(self) -> int:
        """How many separate byte strings hold the data (bookkeeping, for tests and stats)."""
        return len(self._pieces)

    @property
    def stored_bytes(self) -> int:
        """Bytes of payload kept; always equal to :attr:`held_bytes` (each byte once)."""
        return sum(len(piece) for piece in self._pieces.values())

    def is_new(self, seq: int, end: int) -> bool:
        """True when ``[seq, end)`` has a byte not yet received."""
        if end <= self.rcv_nxt:
            return False
        return not self.ranges.contains(max(seq, self.rcv_nxt), end)

    def offer(self, seq: int, payload: bytes, mark: float | None = None) -> list[bytes]:
        """Take one segment; return the chunks that are now deliverable in order.

        ``mark`` is kept with a segment that has to wait and begins with a new byte (the
        real-time receiver keeps its playout deadline there); it stays in ``marks`` until that
        byte is delivered or skipped.
        """
        end = seq + len(payload)
        rcv_nxt = self.rcv_nxt
        if end <= rcv_nxt:
            return []
        if seq > rcv_nxt:
            self._hold(seq, payload, end, mark)
            return []
        first = self.ranges.first_start
        if first is None or end < first:
            self.rcv_nxt = end
            return [payload[rcv_nxt - seq :] if seq < rcv_nxt else payload]
        return self._fill(seq, payload, end)

    def extend_top(self, start: int, payloads: list[bytes | memoryview]) -> bool:
        """Hold ``payloads``, back to back from ``start``, the end of the highest held range
        (the common case after a hole: the stream goes on above it): one store, one range
        update. False, holding nothing, when they would pass the capacity (the caller then
        takes them one by one, and the refusals are counted there)."""
        size = sum(map(len, payloads))
        if start != self.ranges.last_end or self.ranges.total + size > self.capacity:
            return False
        self._store(start, b"".join(payloads))
        self.ranges.add(start, start + size)
        return True

    def skip_to(self, offset: int) -> list[bytes]:
        """Give up on everything below ``offset`` (real-time mode); return what follows in order."""
        if offset <= self.rcv_nxt:
            return []
        self.rcv_nxt = offset
        pieces, ends = self._pieces, self._ends
        for start in [s for s in pieces if s < offset]:
            piece = pieces.pop(start)
            del ends[start + len(piece)]
            if start + len(piece) > offset:  # keep the part above the skip point
                tail = piece[offset - start :]
                pieces[offset] = tail
                ends[offset + len(tail)] = offset
        self.ranges.discard_below(offset)
        chunks: list[bytes] = []
        self._drain(chunks)
        return chunks

    def first_held(self) -> int | None:
        """Start of the lowest segment held above the hole, or None."""
        return self.ranges.first_start

    # --- internals -------------------------------------------------------------------------

    def _fill(self, seq: int, payload: bytes, end: int) -> list[bytes]:
        """An in-order segment that reaches held data: its new bytes and what they complete."""
        chunks: list[bytes] = []
        ranges = self.ranges
        while self.rcv_nxt < end:
            at = self.rcv_nxt
            first = ranges.first_start
            stop = end if first is None or first > end else first
            if stop > at:
                chunks.append(payload[at - seq : stop - seq])
                self.rcv_nxt = stop
            if stop != first:
                break
            self._drain(chunks)
        return chunks

    def _hold(self, seq: int, payload: bytes, end: int, mark: float | None) -> None:
        """Store the new bytes of an out-of-order segment, if the bounds allow."""
        ranges = self.ranges
        gaps = list(ranges.gaps(seq, end))
        if not gaps:
            return  # every byte is held already
        new = sum(b - a for a, b in gaps)
        separate = len(ranges) >= MAX_HELD_RANGES and not ranges.overlaps(seq - 1, end + 1)
        if ranges.total + new > self.capacity or separate:
            self.refused += 1  # beyond the window, or one range too many: the source sends it again
            return
        for a, b in gaps:
            self._store(a, payload if b - a == len(payload) else payload[a - seq : b - seq])
        ranges.add(seq, end)
        if mark is not None and gaps[0][0] == seq and len(self.marks) < MAX_MARKS:
            self.marks[seq] = mark

    def _store(self, start: int, piece: bytes) -> None:
        """Add a piece of new bytes, merged with a small neighbour on either side."""
        pieces, ends = self._pieces, self._ends
        left = ends.get(start)
        if left is not None and len(pieces[left]) + len(piece) <= PIECE_MERGE_LIMIT:
            del ends[start]
            piece = pieces.pop(left) + piece
            start = left
        end = start + len(piece)
        right = pieces.get(end)
        if right is not None and len(piece) + len(right) <= PIECE_MERGE_LIMIT:
            del pieces[end]
            del ends[end + len(right)]
            piece += right
        pieces[start] = piece
        ends[start + len(piece)] = start

    def _drain(self, chunks: list[bytes]) -> None:
        """Append held data that now continues the stream, and forget what fell below it."""
        pieces, ends = self._pieces, self._ends
        while (piece := pieces.pop(self.rcv_nxt, None)) is not None:
            self.rcv_nxt += len(piece)
            del ends[self.rcv_nxt]
            chunks.append(piece)
        self.ranges.discard_below(self.rcv_nxt)
        marks = self.marks
        if marks:
            ranges = self.ranges
            for start in [s for s in marks if s < self.rcv_nxt or not ranges.contains(s, s + 1)]:
                del marks[start]
