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


class UpReceiver:
    """The source's side, one per child: reassemble the up-stream and cut it into messages."""

    __slots__ = ("_framer", "_reasm")

    def __init__(self) -> None:
        self._reasm = Reassembly(0, UP_BUFFER_LIMIT)
        self._framer = MessageFramer(synced=True)

    @property
    def acked(self) -> int:
        """What to acknowledge: everything below this arrived."""
        return self._reasm.rcv_nxt

    def offer(self, offset: int, payload: bytes) -> list[bytes]:
        """One UPDATA segment; returns the messages it completed."""
        messages: list[bytes] = []
        position = self._reasm.rcv_nxt
        for chunk in self._reasm.offer(offset, payload):
            found, _ = self._framer.feed(position, chunk, False)
            messages.extend(message for _, message in found)
            position += len(chunk)
        return messages
