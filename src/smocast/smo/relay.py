"""A relay server: the receiver of an upstream channel and, at once, the source of a downstream one.

Relays form the hierarchy of the paper's section V.D. Forwarding is at application level
through a pass-through buffer: each upstream payload object is written as it is into the
downstream channel, whose send buffer makes it a segment without copying it. In reliable
mode backpressure travels up: the relay tells its upstream receiver how many delivered
bytes its downstream channel still holds, so the upstream window closes while the
downstream holds data back, and nothing is lost between levels.

Sans-IO, like the endpoints it joins: the simulator and the asyncio runtime both call
:meth:`RelayNode.on_upstream_event` with every upstream event, and :meth:`RelayNode.sync`
after the downstream channel handled input.
"""

from __future__ import annotations

from bisect import bisect_right

from smocast.smo import events as ev
from smocast.smo.channel import Channel
from smocast.smo.receiver import Receiver


class StreamHistory:
    """Every byte a relay forwarded, so receivers that fail over to it can resume anywhere.

    Holds the payload objects themselves (no copy). ``limit`` bounds the bytes kept; the
    oldest chunks are dropped beyond it, and resuming below what is kept is refused.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._offsets: list[int] = []
        self._chunks: list[bytes] = []
        self._first = 0  # index of the oldest kept chunk
        self.limit = limit
        self.kept = 0

    @property
    def start(self) -> int:
        return self._offsets[self._first] if self._first < len(self._offsets) else 0

    def append(self, offset: int, chunk: bytes) -> None:
        self._offsets.append(offset)
        self._chunks.append(chunk)
        self.kept += len(chunk)
        while self.limit is not None and self.kept > self.limit and self._first < len(self._chunks) - 1:
            self.kept -= len(self._chunks[self._first])
            self._chunks[self._first] = b""
            self._first += 1

    def __call__(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; ``b""`` when not kept."""
        i = bisect_right(self._offsets, offset, lo=self._first) - 1
        if i < self._first:
            return b""
        chunk = self._chunks[i]
        start = offset - self._offsets[i]
        if start >= len(chunk):
            return b""
        return chunk[start : start + length]


class RelayNode:
    """Joins ``upstream`` (a receiver) to ``downstream`` (a channel) by a pass-through buffer."""

    def __init__(self, upstream: Receiver, downstream: Channel, history: StreamHistory | None = None) -> None:
        self.upstream = upstream
        self.downstream = downstream
        self.history = history
        self.forwarded = 0
        self.upstream_lost: str | None = None
        self.ended = False
        self._base: int | None = None  # upstream offset of the downstream stream's byte 0

    def on_upstream_event(self, event: object, now: float) -> None:
        """Forward data, the end of the stream, or note that the upstream is gone."""
        if isinstance(event, ev.DataReceived):
            self.upstream.consumed(len(event.data))  # handed on at once; held downstream as backlog
            if self._base is None:
                self._base = event.offset
            self.downstream.write(event.data)
            if self.history is not None:
                self.history.append(event.offset - self._base, event.data)
            self.forwarded += len(event.data)
        elif isinstance(event, ev.MessageReceived):
            self.upstream.consumed(len(event.data))
            self.downstream.send_message(event.data)
        elif isinstance(event, ev.StreamEnded):
            self.ended = True
            self.downstream.close()
        elif isinstance(event, ev.ConnectionReset | ev.ConnectFailed):
            self.upstream_lost = event.reason

    def backlog(self) -> int:
        """Bytes the downstream still holds: not yet sent once, or not yet released."""
        down = self.downstream
        return down.pending_bytes + down.snd_nxt - down.buffer_base

    def sync(self) -> bool:
        """Pass the downstream backlog up as flow control; True if the upstream wants to ACK now."""
        self.upstream.set_backlog(self.backlog())
        return self.upstream.ack_pending
