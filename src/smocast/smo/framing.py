"""Message framing over the TCP-SMO byte stream, so real-time skips land on message boundaries.

The source writes each message as a 4-byte big-endian length and the message bytes, and
starts a new segment there, flagged ``FLAG_MSG_START`` (see :func:`frame` and
``Channel.send_message``). The receiver's :class:`MessageFramer` cuts the in-order stream
back into messages. When the receiver skips a hole, it resumes at a segment that starts a
message, and the framer drops whatever partial message it held: the application sees whole
messages or a gap notice, never half a message.
"""

from __future__ import annotations

import struct

from smocast.core.errors import LocalProtocolError, RemoteProtocolError

_LENGTH = struct.Struct("!I")
LENGTH_SIZE = _LENGTH.size
MAX_MESSAGE = (1 << 32) - 1


class MessageTooLarge(RemoteProtocolError):
    """A message announced more bytes than the framer accepts; the peer must be refused."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"a message of {length:,} bytes; the limit is {limit:,}")
        self.length = length
        self.limit = limit


def frame(message: bytes | bytearray | memoryview) -> bytes:
    """The bytes to write for one message: its length, then the message."""
    if len(message) > MAX_MESSAGE:
        raise LocalProtocolError(f"a message holds at most {MAX_MESSAGE} bytes, got {len(message)}")
    return _LENGTH.pack(len(message)) + bytes(message)


class MessageFramer:
    """Turns in-order stream chunks into ``(offset, message)`` pairs.

    ``synced`` is False until the framer knows where a message starts (a receiver that
    joined mid-stream, or one that just skipped); bytes before that are discarded and
    reported by :meth:`feed` as a discarded range.

    With ``max_message``, a length prefix above it raises :class:`MessageTooLarge` as soon as
    it is read, so a partial message never grows past the limit.
    """

    __slots__ = ("_buffer", "_max", "_start", "synced")

    def __init__(self, synced: bool, max_message: int | None = None) -> None:
        self.synced = synced
        self._max = max_message
        self._buffer = bytearray()
        self._start = 0  # stream offset of _buffer[0]: the current message's length prefix

    @property
    def pending(self) -> int:
        """Bytes held for the message being assembled."""
        return len(self._buffer)

    @property
    def partial_start(self) -> int | None:
        """Offset where the incomplete message being assembled started, if any."""
        return self._start if self._buffer else None

    def feed(self, offset: int, chunk: bytes, boundary: bool) -> tuple[list[tuple[int, bytes]], int]:
        """Add the chunk at ``offset``; ``boundary`` says a message starts exactly there.

        Returns the completed messages and how many bytes were discarded (a partial message
        cut short by a boundary, or bytes before the first known boundary).
        """
        discarded = 0
        if boundary:
            discarded = len(self._buffer)
            self._buffer.clear()
            self._start = offset
            self.synced = True
        elif not self.synced:
            return [], len(chunk)
        if not self._buffer:
            self._start = offset
        self._buffer += chunk
        return self._cut(), discarded

    def resync(self, offset: int) -> int:
        """The stream jumped to ``offset``, a message start; drop the partial message."""
        discarded = len(self._buffer)
        self._buffer.clear()
        self._start = offset
        self.synced = True
        return discarded

    def _cut(self) -> list[tuple[int, bytes]]:
        messages = []
        buffer = self._buffer
        at = 0
        while len(buffer) - at >= LENGTH_SIZE:
            (length,) = _LENGTH.unpack_from(buffer, at)
            if self._max is not None and length > self._max:
                raise MessageTooLarge(length, self._max)
            end = at + LENGTH_SIZE + length
            if end > len(buffer):
                break
            messages.append((self._start + at, bytes(buffer[at + LENGTH_SIZE : end])))
            at = end
        if at:
            del buffer[:at]
            self._start += at
        return messages
