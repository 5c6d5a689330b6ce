"""Session relay (paper section IV.B): a receiver talks back to the source on its connection.

Each receiver may send messages up its unicast connection; the source gets them with the
receiver's identity and may multicast them to the whole channel (a question from a remote
student, repeated to the class). The up-stream is a small reliable byte stream of its own:
UPDATA packets carry it, the source acknowledges it with unicast ACKs, and lost segments
are sent again after a timeout (go-back-N; these are short messages, not bulk data).
Messages are framed as in :mod:`smocast.smo.framing`.
"""

from __future__ import annotations

from smocast.smo.framing import MessageFramer, frame
from smocast.smo.reassembly import Reassembly
from smocast.wire import FLAG_MSG_START

UP_SEGMENT = 1200  # bytes per UPDATA payload: fits any path MTU the channel uses
UP_WINDOW = 64 * 1024  # bytes in flight up the connection
UP_RTO_INITIAL = 0.5
UP_RTO_MAX = 8.0
UP_BUFFER_LIMIT = 1 << 20  # bytes an application may queue before send_up() refuses


class UpSender:
    """The receiver's side: queue messages, cut UPDATA segments, resend what is not acked."""

    __slots__ = ("_buffer", "_starts", "base", "due", "next", "rto")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._starts: set[int] = set()  # offsets where a message begins
        self.base = 0  # oldest unacknowledged byte (offset of _buffer[0])
        self.next = 0  # next byte to send for the first time
        self.rto = UP_RTO_INITIAL
        self.due: float | None = None  # when to go back and resend from base

    @property
    def queued(self) -> int:
        return len(self._buffer)

    def add(self, message: bytes) -> bool:
        """Queue one message; False when the buffer is full (the caller must wait)."""
        if len(self._buffer) + len(message) > UP_BUFFER_LIMIT:
            return False
        self._starts.add(self.base + len(self._buffer))
        self._buffer += frame(message)
        return True

    def segments(self, now: float) -> list[tuple[int, bytes, int]]:
        """``(offset, payload, flags)`` to send now, within the window."""
        out = []
        end = self.base + len(self._buffer)
        while self.next < end and self.next - self.base < UP_WINDOW:
            start = self.next
            stop = min(end, start + UP_SEGMENT)
            following = [s for s in self._starts if start < s < stop]
            if following:
                stop = min(following)  # a message start begins its own segment
            payload = bytes(self._buffer[start - self.base : stop - self.base])
            out.append((start, payload, FLAG_MSG_START if start in self._starts else 0))
            self.next = stop
        if out and self.due is None:
            self.due = now + self.rto
        return out

    def on_ack(self, ack: int, now: float) -> None:
        """The source acknowledged the up-stream up to ``ack``."""
        if ack <= self.base or ack > self.next:
            return
        del self._buffer[: ack - self.base]
        self._starts = {s for s in self._starts if s >= ack}
        self.base = ack
        self.rto = UP_RTO_INITIAL
        self.due = None if self.base == self.next else now + self.rto

    def on_timeout(self, now: float) -> None:
        """Nothing acknowledged in time: send everything unacknowledged again."""
        self.next = self.base
        self.rto = min(self.rto * 2, UP_RTO_MAX)
        self.due = None


class UpBudget:
    """What the receivers' up-streams may make the source hold at once, all together.

    The channel owns one and hands it to every :class:`UpReceiver`; each charges what it
    holds (segments out of order, the message being assembled) and gives it back when its
    receiver goes. A segment that would exceed ``limit`` is refused unacknowledged, and
    its sender sends it again later, as for a full receive window.
    """

    __slots__ = ("limit", "refused", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.refused = 0  # segments refused because the total was reached

    def fits(self, nbytes: int) -> bool:
        return self.used + nbytes <= self.limit


class UpReceiver:
    """The source's side, one per child: reassemble the up-stream and cut it into messages.

    It holds at most ``UP_WINDOW`` bytes out of order (what an honest sender has in flight)
    and one message of at most ``max_message`` bytes being assembled; a longer one raises
    :class:`~smocast.smo.framing.MessageTooLarge` and the channel must drop the receiver.
    """

    __slots__ = ("_budget", "_framer", "_holding", "_reasm")

    def __init__(self, budget: UpBudget, max_message: int = UP_BUFFER_LIMIT) -> None:
        self._budget = budget
        self._reasm = Reassembly(0, UP_WINDOW + UP_SEGMENT)
        self._framer = MessageFramer(synced=True, max_message=max_message)
        self._holding = 0  # bytes charged to the budget

    @property
    def acked(self) -> int:
        """What to acknowledge: everything below this arrived."""
        return self._reasm.rcv_nxt

    @property
    def holding(self) -> int:
        """Bytes it holds now: segments out of order and the partial message."""
        return self._holding

    def offer(self, offset: int, payload: bytes) -> list[bytes]:
        """One UPDATA segment; returns the messages it completed (none if the budget is spent)."""
        reasm = self._reasm
        if not reasm.is_new(offset, offset + len(payload)):
            return []
        if not self._budget.fits(len(payload)):
            self._budget.refused += 1
            return []
        messages: list[bytes] = []
        position = reasm.rcv_nxt
        try:
            for chunk in reasm.offer(offset, payload):
                found, _ = self._framer.feed(position, chunk, False)
                messages.extend(message for _, message in found)
                position += len(chunk)
        finally:
            self._charge(reasm.held_bytes + self._framer.pending)
        return messages

    def release(self) -> None:
        """Its receiver is gone: give back what it held."""
        self._charge(0)
        self._reasm = Reassembly(self._reasm.rcv_nxt, 0)
        self._framer = MessageFramer(synced=True, max_message=0)

    def _charge(self, holding: int) -> None:
        self._budget.used += holding - self._holding
        self._holding = holding
