"""The channel's one send buffer, shared read-only by every child (paper section III.A).

It holds the application's unsent bytes, cuts them into segments, and keeps each sent
segment until it may be released. A write that fits one segment becomes that segment's
payload as it is, without a copy: a relay passes the upstream payload objects straight
through to its downstream channel. Each segment counts the acknowledgements it still needs:

* ``needed``: for the window-advance policy F (the channel's window edge);
* ``needed_all``: from every receiver that was live when it was sent (memory release).

A receiver's cumulative ACK moving from ``a`` to ``b`` decrements the counters of the
segments inside ``[a, b)``: the work per ACK is the number of segments it covers, whatever
the number of receivers. This is the "count per acked sequence" structure.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterator

from smocast.core.errors import LocalProtocolError
from smocast.wire import FLAG_MSG_START, MAX_STREAM_OFFSET


class Segment:
    """One segment of the stream: ``[start, end)`` and its release counters."""

    __slots__ = ("end", "flags", "mcast_at", "missing", "needed", "needed_all", "payload", "sent_at", "start")

    def __init__(self, start: int, payload: bytes, flags: int, sent_at: float, needed: int, needed_all: int):
        self.start = start
        self.end = start + len(payload)
        self.payload = payload
        self.flags = flags
        self.sent_at = sent_at
        self.needed = needed
        self.needed_all = needed_all
        self.missing: set[int] | None = None  # receivers that reported it lost (repair planner)
        self.mcast_at: float | None = None  # when it was last repaired by multicast

    def __repr__(self) -> str:
        return f"Segment([{self.start}, {self.end}) needed={self.needed}/{self.needed_all})"


class SendBuffer:
    """Unsent bytes plus the retained sent segments, in stream order."""

    def __init__(self, mss: int, start: int = 0) -> None:
        self.mss = mss
        self._unsent: deque[tuple[memoryview, int]] = deque()
        self.pending = 0  # unsent bytes
        self.snd_nxt = start  # next new byte to send
        self._segs: list[Segment | None] = []
        self._head = 0  # position of the oldest retained segment
        self._edge = 0  # position of the first segment still inside the window
        self._offset = 0  # absolute index of position 0
        self._index: dict[int, int] = {}  # segment start -> absolute index
        self.base = start  # oldest retained byte
        self.edge = start  # the window's left edge under policy F
        self.ack_hint = 2  # the ACK frequency the newest segment carried: receivers may hold one less (read-only)
        self.last_sent_at = float("-inf")  # when the newest segment was sent (read-only)
        self.largest_cut = 0  # the longest segment cut so far (read-only)

    # --- the application side ------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview, *, message_start: bool = False) -> None:
        """Queue bytes; with ``message_start`` the first byte begins a new segment and message.
        Raise LocalProtocolError, queueing nothing, if they would take the stream past
        :data:`~smocast.wire.MAX_STREAM_OFFSET` (what a data header carries)."""
        if not data:
            return
        if not isinstance(data, bytes) and not (isinstance(data, memoryview) and isinstance(data.obj, bytes)):
            data = bytes(data)  # the caller may change a mutable buffer after writing it
        view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
        if self.snd_nxt + self.pending + len(view) > MAX_STREAM_OFFSET:
            raise LocalProtocolError(f"a channel's stream ends at byte {MAX_STREAM_OFFSET}: open a new channel")
        self._unsent.append((view, FLAG_MSG_START if message_start else 0))
        self.pending += len(view)

    # --- cutting and sending segments ----------------------------------------------------

    def next_length(self, limit: int | None = None) -> int:
        """Length of the next new segment (0 when nothing is waiting), at most ``limit`` when given."""
        if not self._unsent:
            return 0
        mss = self.mss if limit is None or limit > self.mss else limit
        first = len(self._unsent[0][0])
        if first >= mss:
            return mss
        length = 0
        for i, (view, flags) in enumerate(self._unsent):
            if i and flags & FLAG_MSG_START:
                break
            length += len(view)
            if length >= mss:
                return mss
        return length

    def take(
        self, sent_at: float, needed: int, needed_all: int, ack_hint: int = 2, limit: int | None = None
    ) -> Segment:
        """Cut the next segment from the unsent bytes and retain it as sent, with the ACK
        frequency it carries (``ack_hint``: the loss probe allows for the segments a receiver
        may hold before it ACKs). ``limit`` cuts it shorter than ``mss`` (a window smaller
        than one segment of the size path MTU discovery found)."""
        unsent = self._unsent
        view, flags = unsent[0]
        mss = self.mss if limit is None or limit > self.mss else limit
        if len(view) > mss:  # the usual case: a full segment from a large write
            payload = view[:mss].tobytes()
            unsent[0] = (view[mss:], 0)
        else:
            payload = self._gather(flags, mss)
        start = self.snd_nxt
        segment = Segment(start, payload, flags, sent_at, needed, needed_all)
        if len(payload) > self.largest_cut:  # noqa: PLR1730  (per segment: a comparison is cheaper than max())
            self.largest_cut = len(payload)
        segs = self._segs
        self._index[start] = self._offset + len(segs)
        segs.append(segment)
        self.snd_nxt = segment.end
        self.ack_hint = ack_hint
        self.last_sent_at = sent_at
        self.pending -= len(payload)
        if needed <= 0 or needed_all <= 0:
            self._advance()  # nobody to wait for: released at once
        return segment

    def _gather(self, flags: int, mss: int) -> bytes:
        """The next segment's payload when it spans writes or ends a message."""
        parts: list[memoryview] = []
        room = mss
        while self._unsent and room:
            view, part_flags = self._unsent[0]
            if parts and part_flags & FLAG_MSG_START:
                break
            if len(view) <= room:
                self._unsent.popleft()
                parts.append(view)
                room -= len(view)
            else:
                parts.append(view[:room])
                self._unsent[0] = (view[room:], 0)
                room = 0
        if len(parts) == 1:
            whole = parts[0]
            if isinstance(whole.obj, bytes) and len(whole) == len(whole.obj):
                return whole.obj  # a whole write that fits one segment: shared, not copied
            return whole.tobytes()
        return b"".join(parts)

    # --- lookups -------------------------------------------------------------------------

    def segment_at(self, start: int) -> Segment | None:
        """The retained segment starting exactly at ``start``."""
        index = self._index.get(start)
        return None if index is None else self._segs[index - self._offset]

    def segments_from(self, offset: int) -> Iterator[Segment]:
        """Retained segments with ``end > offset``, in order."""
        segs = self._segs
        for pos in range(self._position_after(offset), len(segs)):
            segment = segs[pos]
            assert segment is not None
            yield segment

    def sent_at_of(self, offset: int) -> float | None:
        """When the retained segment holding byte ``offset`` was first sent (None: not retained)."""
        if not self.base <= offset < self.snd_nxt:
            return None
        segment = self._segs[self._position_after(offset)]
        return None if segment is None else segment.sent_at

    def retained_segments(self) -> int:
        return len(self._segs) - self._head

    # --- acknowledgements ----------------------------------------------------------------

    def on_acked(self, old: int, new: int) -> None:
        """A receiver's cumulative ACK moved from ``old`` to ``new``: count it on every segment it covers."""
        segs = self._segs
        index = self._index.get(old)
        pos = index - self._offset if index is not None else self._position_after(old)
        n = len(segs)
        while pos < n:
            segment = segs[pos]
            if segment.end > new:  # type: ignore[union-attr]
                break
            segment.needed -= 1  # type: ignore[union-attr]
            segment.needed_all -= 1  # type: ignore[union-attr]
            pos += 1
        edge, head = self._edge, self._head
        if (edge < n and segs[edge].needed <= 0) or (head < edge and segs[head].needed_all <= 0):  # type: ignore[union-attr]
            self._advance()

    def note_multicast_repair(self, segment: Segment, now: float) -> None:
        """``segment`` was repaired to the whole group at ``now``: every reporter is covered."""
        segment.mcast_at = now
        segment.missing = None

    def on_receiver_removed(self, una: int) -> None:
        """A receiver acknowledged up to ``una`` and left: it no longer holds anything back."""
        segs = self._segs
        for pos in range(self._position_after(una), len(segs)):
            segment = segs[pos]
            assert segment is not None
            segment.needed -= 1
            segment.needed_all -= 1
        self._advance()

    def force_release(self, upto: int) -> None:
        """Release every segment ending at or below ``upto``, acknowledged or not."""
        segs = self._segs
        while self._head < len(segs):
            segment = segs[self._head]
            assert segment is not None
            if segment.end > upto:
                break
            self._release_head()
        self._edge = max(self._edge, self._head)
        self._sync_edges()

    def _advance(self) -> None:
        segs = self._segs
        n = len(segs)
        while self._edge < n and segs[self._edge].needed <= 0:  # type: ignore[union-attr]
            self._edge += 1
        while self._head < self._edge and segs[self._head].needed_all <= 0:  # type: ignore[union-attr]
            self._release_head()
        self._sync_edges()

    def _release_head(self) -> None:
        segment = self._segs[self._head]
        assert segment is not None
        del self._index[segment.start]
        self._segs[self._head] = None
        self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._segs):
            self._compact()

    def _compact(self) -> None:
        del self._segs[: self._head]
        self._offset += self._head
        self._edge -= self._head
        self._head = 0

    def _sync_edges(self) -> None:
        segs = self._segs
        self.base = segs[self._head].start if self._head < len(segs) else self.snd_nxt  # type: ignore[union-attr]
        self.edge = segs[self._edge].start if self._edge < len(segs) else self.snd_nxt  # type: ignore[union-attr]

    def _position_after(self, offset: int) -> int:
        """Position of the first retained segment with ``end > offset``."""
        index = self._index.get(offset)
        if index is not None:
            return index - self._offset
        if offset < self.base:
            return self._head
        return (
            bisect_right(self._segs, offset, lo=self._head, key=_segment_start) - 1
            if offset < self.snd_nxt
            else len(self._segs)
        )


def _segment_start(segment: Segment | None) -> int:
    assert segment is not None
    return segment.start
