"""A receiver's data path: reassembly, in-order delivery, message framing, real-time skips.

:class:`Delivery` takes the data segments the :class:`~smocast.smo.receiver.Receiver`
accepted and turns them into the application's events: :class:`DataReceived` chunks (or,
with framing, whole :class:`MessageReceived` messages) in stream order, exactly once, and in
real-time mode :class:`Skipped` ranges where a hole was given up (TCP-RTM, paper section
V.C). It owns the reassembly buffer and the framing state; the receiver owns the connection,
its ACKs and its window. Both append to the receiver's one event queue, so the application
sees data, gaps and the end of the stream in the order they happened.
"""

from __future__ import annotations

from collections import deque

from smocast.core.counters import Counters
from smocast.core.timestamps import elapsed_since
from smocast.smo import events as ev
from smocast.smo.framing import MessageFramer
from smocast.smo.reassembly import MAX_MARKS, Reassembly
from smocast.smo.receiver_config import ReceiverConfig
from smocast.wire import FLAG_MSG_START, Packet


class ReceiverStats(Counters):
    __slots__ = (
        "acks_sent",
        "beyond_window",
        "bytes_delivered",
        "challenge_acks",
        "duplicates",
        "foreign",
        "malformed",
        "messages",
        "refused_controls",
        "repairs",
        "segments",
        "skipped_bytes",
        "skips",
    )

    def __init__(self) -> None:
        self.segments: int = 0
        self.duplicates: int = 0
        self.repairs: int = 0
        self.bytes_delivered: int = 0
        self.acks_sent: int = 0
        self.malformed: int = 0
        self.foreign: int = 0
        self.skips: int = 0
        self.skipped_bytes: int = 0
        self.messages: int = 0
        self.beyond_window: int = 0  # segments dropped because they started past the offered window
        self.refused_controls: int = 0  # RSTs and FINs not honoured: off the expected offset (see smo.challenge)
        self.challenge_acks: int = 0  # ACKs sent in answer to a near miss (RFC 5961)


class Delivery:
    """The in-order stream of one receiver, from segments to application events."""

    __slots__ = (
        "_boundaries",
        "_config",
        "_events",
        "_framer",
        "_path_base",
        "_reasm",
        "_stats",
        "_unsynced_from",
        "delivered",
        "playout_due",
    )

    def __init__(self, config: ReceiverConfig, events: deque[ev.ReceiverEvent], stats: ReceiverStats) -> None:
        """``events`` is the receiver's event queue; ``stats`` its counters (this writes the data ones)."""
        self._config = config
        self._events = events
        self._stats = stats
        self._reasm = Reassembly(0, config.receive_buffer)
        self._framer = MessageFramer(synced=False) if config.framing else None
        self._boundaries: set[int] = set()  # held segment starts that begin a message
        self._unsynced_from: int | None = None  # discarding a partial first message since here
        self._path_base: float | None = None  # smallest (arrival - TSval) seen: clock offset + base delay
        self.playout_due: float | None = None  # when the data after the head hole is due (real time)
        self.delivered = 0  # bytes handed to the application in events, ever

    def start_at(self, offset: int) -> None:
        """The handshake fixed the stream's first byte for this receiver."""
        self._reasm = Reassembly(offset, self._config.receive_buffer)

    @property
    def rcv_nxt(self) -> int:
        """The next stream byte expected: everything below it was delivered (or skipped)."""
        return self._reasm.rcv_nxt

    @property
    def held_bytes(self) -> int:
        """Bytes held out of order, above the first hole."""
        return self._reasm.held_bytes

    @property
    def holds_data(self) -> bool:
        return bool(self._reasm.ranges)

    def sack_blocks(self, limit: int) -> tuple[tuple[int, int], ...]:
        """Up to ``limit`` held ranges, newest first, for the ACK's SACK blocks."""
        ranges = self._reasm.ranges
        return tuple(ranges.blocks_newest_first(limit)) if ranges else ()

    def has(self, offset: int) -> bool:
        """True when the byte at ``offset`` is held (above the head hole)."""
        return self._reasm.ranges.contains(offset, offset + 1)

    def is_new(self, seq: int, end: int) -> bool:
        return self._reasm.is_new(seq, end)

    # --- taking segments -----------------------------------------------------------------------

    def take_next(self, packet: Packet, now: float) -> None:
        """The fast path: ``packet`` is the next expected segment and nothing is held out of order."""
        payload = packet.payload
        offset = packet.seq
        self._reasm.rcv_nxt = offset + len(payload)
        self._deliver(offset, payload, bool(packet.flags & FLAG_MSG_START), now)

    def take_run(self, offset: int, payloads: list[bytes | memoryview]) -> None:
        """The batch fast path (no framing): ``payloads`` are the next expected segments from
        ``offset`` on, back to back, and nothing is held out of order. They are delivered as one
        :class:`DataReceived` (``payloads`` may be views of the runtime's buffer: joined here, the
        one copy)."""
        chunk = b"".join(payloads)
        size = len(chunk)
        self._reasm.rcv_nxt = offset + size
        self._stats.bytes_delivered += size
        self.delivered += size
        self._events.append(ev.DataReceived(offset, chunk))

    def hold_run(self, start: int, payloads: list[bytes | memoryview]) -> bool:
        """The batch path above a hole (no framing, no playout delay): ``payloads`` continue the
        highest held range from ``start``; held in one go. False: not held (see
        :meth:`Reassembly.extend_top`)."""
        return self._reasm.extend_top(start, payloads)

    @property
    def held_end(self) -> int | None:
        """The end of the highest held range (None: nothing held)."""
        return self._reasm.ranges.last_end

    def take(self, packet: Packet, deadline: float | None, now: float) -> None:
        """Any new segment (the caller checked :meth:`is_new`): hold it, or deliver what it completes.

        ``deadline`` is its playout deadline (:meth:`deadline_of`) with a playout delay, else None.
        """
        seq = packet.seq
        reasm = self._reasm
        in_order = seq <= reasm.rcv_nxt
        if not in_order and packet.flags & FLAG_MSG_START:
            self._note_boundary(seq)
        offset = reasm.rcv_nxt
        boundary = in_order and seq == offset and bool(packet.flags & FLAG_MSG_START)
        chunks = reasm.offer(seq, packet.payload, deadline)
        for chunk in chunks:
            self._deliver_chunk(offset, chunk, boundary, now)
            offset += len(chunk)
            boundary = False
        if chunks and self._boundaries:
            self._boundaries = {b for b in self._boundaries if b >= reasm.rcv_nxt}
        if self._config.realtime:
            self._plan_skip()

    def _note_boundary(self, seq: int) -> None:
        """A held segment begins a message: remember where, once, and at most MAX_MARKS of them."""
        boundaries = self._boundaries
        if len(boundaries) < MAX_MARKS and not self._reasm.ranges.contains(seq, seq + 1):
            boundaries.add(seq)

    def _deliver_chunk(self, offset: int, chunk: bytes, boundary: bool, now: float) -> None:
        """Deliver a chunk that may hold several held segments; a framer that still looks for
        its first message start gets the chunk cut there."""
        boundaries = self._boundaries
        framer = self._framer
        if boundaries and framer is not None and not framer.synced and not boundary:
            end = offset + len(chunk)
            inside = [b for b in boundaries if offset <= b < end]
            if inside:
                cut = min(inside) - offset
                if cut:
                    self._deliver(offset, chunk[:cut], False, now)
                self._deliver(offset + cut, chunk[cut:], True, now)
                return
        self._deliver(offset, chunk, boundary or offset in boundaries, now)

    def _deliver(self, offset: int, chunk: bytes, boundary: bool, now: float) -> None:
        self._stats.bytes_delivered += len(chunk)
        framer = self._framer
        if framer is None:
            self.delivered += len(chunk)
            self._events.append(ev.DataReceived(offset, chunk))
            return
        was_synced = framer.synced
        messages, discarded = framer.feed(offset, chunk, boundary)
        if not was_synced:
            if not framer.synced:  # still before the first message start: a gap
                if self._unsynced_from is None:
                    self._unsynced_from = offset
            elif self._unsynced_from is not None:
                self._report_skip(self._unsynced_from, offset, now)
                self._unsynced_from = None
        elif discarded:
            self._report_skip(offset - discarded, offset, now)
        for start, message in messages:
            self.delivered += len(message)
            self._stats.messages += 1
            self._events.append(ev.MessageReceived(start, message))

    # --- real time (TCP-RTM) -------------------------------------------------------------------

    def deadline_of(self, packet: Packet, now: float) -> float:
        """When the data of ``packet`` is due for playout, learning the path's base on the way.

        Call it for every data segment that arrives (duplicates included), with a playout delay."""
        age = elapsed_since(packet.tsval, now)  # arrival - TSval: the clock offset plus this path's delay
        base = self._path_base
        if base is None or age < base:
            base = self._path_base = age
        assert self._config.playout_delay is not None
        return now - age + base + self._config.playout_delay

    def skip_target(self) -> int | None:
        """Where a skip of the head hole would resume: the first held (message-start) segment."""
        first = self._reasm.first_held()
        if first is None or self._framer is None:
            return first
        starts = [b for b in self._boundaries if b >= first]
        return min(starts) if starts else None

    def _plan_skip(self) -> None:
        """Arm the playout timer for the data after the head hole."""
        target = self.skip_target() if self._config.playout_delay is not None else None
        self.playout_due = None if target is None else self._reasm.marks.get(target)

    def skip(self, target: int, now: float) -> None:
        """Give up the stream below ``target`` and deliver what follows it."""
        reasm = self._reasm
        hole = reasm.rcv_nxt
        partial = self._framer.partial_start if self._framer is not None else None
        if self._framer is not None:
            self._framer.resync(target)
        self._report_skip(hole if partial is None else partial, target, now)
        self._boundaries.discard(target)
        offset = target
        boundary = True
        for chunk in reasm.skip_to(target):
            self._deliver_chunk(offset, chunk, boundary, now)
            offset += len(chunk)
            boundary = False
        self._boundaries = {b for b in self._boundaries if b >= reasm.rcv_nxt}
        self._plan_skip()

    def _report_skip(self, start: int, end: int, now: float) -> None:
        if end <= start:
            return
        self._stats.skips += 1
        self._stats.skipped_bytes += end - start
        self._events.append(ev.Skipped(start, end, now))
