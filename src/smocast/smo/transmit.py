"""New data onto the group: how far the windows allow, the retain limit, pacing and the ACK hint.

The channel sends new data in one loop per turn: :meth:`Transmitter.open` fixes how far this
turn may go (the smallest right edge of the pacing receivers, or the send window when
nobody paces yet) and the turn's ACK-frequency hint and pacing rate; then each
:meth:`Transmitter.send_one` sends one segment, until the window, the retain limit or the
pacer says stop. The transmitter also remembers when the group last heard anything, for
keepalives.
"""

from __future__ import annotations

from collections import deque

from smocast.core.congestion import INITIAL_WINDOW_SEGMENTS
from smocast.core.pacing import Pacer
from smocast.smo.config import ChannelConfig
from smocast.smo.outbox import SourceOutbox
from smocast.smo.sendbuf import Segment, SendBuffer
from smocast.wire import DATA_HEADER_SIZE

PACING_GAIN_SLOW_START = 2.0  # as Linux's sch_fq pacing: twice the rate while the window doubles
PACING_GAIN = 1.25


class Transmitter:
    """The channel's new-data sender over its one send buffer."""

    __slots__ = (
        "_ack_every",
        "_allowed",
        "_buf",
        "_buffer_policy",
        "_ceiling",
        "_closed",
        "_config",
        "_in_line",
        "_last_multicast",
        "_out",
        "_pacer",
        "_slow_start_over",
        "catch_up_line",
        "initial_window",
        "pacing_wakeup",
    )

    def __init__(self, config: ChannelConfig, buffer: SendBuffer, out: SourceOutbox) -> None:
        self._config = config
        self._buf = buffer
        self._out = out
        self._buffer_policy = config.window_policy.kind == "buffer"
        self._pacer = Pacer(config.pacing_burst_segments * (config.mss + DATA_HEADER_SIZE))
        self.pacing_wakeup: float | None = None  # when the pacer allows the next segment
        self._slow_start_over = False
        self._last_multicast = 0.0
        self._allowed: int | None = None  # how far this turn may send (None: nobody paces)
        self._ack_every = 1
        self._closed = False  # the application wrote its last byte: the segment that drains the queue ends the stream
        self.initial_window = config.mss * INITIAL_WINDOW_SEGMENTS
        self._ceiling = config.max_rate / 8 if config.max_rate is not None else None  # bytes/s
        self.catch_up_line: deque[int] = deque()  # receivers whose catch-up the pacer held, in order (read-only)
        self._in_line: set[int] = set()  # the same receivers, to look one up

    def congestion_seen(self) -> None:
        """A receiver saw loss: the channel's slow start is over (ACK hint and pacing gain)."""
        self._slow_start_over = True

    def closed(self) -> None:
        """The application closed the channel: no byte will be queued after those already queued."""
        self._closed = True

    def multicast_sent(self, now: float) -> None:
        """Something went to the group (a multicast repair): the group heard from the source."""
        self._last_multicast = now

    def repair_sent(self, size: int, now: float) -> None:
        """A repair of ``size`` payload bytes went out. Under a rate cap (``max_rate``) it counts
        against the pacer, so new data waits for it and everything sent stays within the cap;
        without one, repairs do not slow new data."""
        if self._ceiling is not None:
            self._pacer.charge(size + DATA_HEADER_SIZE, now)

    def catch_up_allowed(self, size: int, now: float) -> bool:
        """May ``size`` payload bytes of catch-up from history leave now? Always without a cap;
        under one (``max_rate``) they ask the pacer as new data does, and are charged if so."""
        if self._ceiling is None:
            return True
        if self._pacer.rate is None:  # nothing new went out yet: pace at the ceiling
            self._pacer.set_rate(self._ceiling, now)
        return self._pacer.allowed(size + DATA_HEADER_SIZE, now)

    def hold_catch_up(self, receiver: int, now: float) -> None:
        """The pacer refused ``receiver`` a catch-up piece: it joins the line (:meth:`next_catch_up`),
        and the channel wakes when the pacer will allow a piece."""
        if receiver not in self._in_line:
            self._in_line.add(receiver)
            self.catch_up_line.append(receiver)
        self._wake_for_catch_up(now)

    def next_catch_up(self, now: float) -> int | None:
        """The first receiver in the line, taken out of it, if the pacer has room for a piece
        now; else None (and a wake-up for when it will). The channel must let it send; it
        rejoins the line if refused again."""
        if not self.catch_up_line or not self._wake_for_catch_up(now):
            return None
        receiver = self.catch_up_line.popleft()
        self._in_line.discard(receiver)
        return receiver

    def _wake_for_catch_up(self, now: float) -> bool:
        """True if a catch-up piece (one base-size segment) may go now; else wake when it may."""
        wake = self._pacer.next_send_time(self._config.mss + DATA_HEADER_SIZE, now)
        if wake <= now:
            return True
        if self.pacing_wakeup is None or wake < self.pacing_wakeup:
            self.pacing_wakeup = wake
        return False

    def on_timer(self, now: float) -> None:
        """The channel's timer fired: a pacing wake-up that is due is spent."""
        if self.pacing_wakeup is not None and now >= self.pacing_wakeup:
            self.pacing_wakeup = None

    def open(self, now: float, smallest_edge: int | None, channel_cwnd: int, channel_rtt: float | None) -> bool:
        """Start a turn: False when not even the next segment fits the window now."""
        buf = self._buf
        if not buf.pending:
            return False
        # nobody paces the channel (no receivers yet, in continuous mode): only the send window limits,
        # and it moves as each segment is released at once (nobody holds it), so this turn sends all
        self._allowed = None if smallest_edge is None else smallest_edge
        if smallest_edge is not None and buf.snd_nxt + buf.next_length(self._limit(smallest_edge)) > smallest_edge:
            return False  # the common case after an ACK that opened nothing
        self._ack_every = self._ack_hint(channel_cwnd)
        self._set_pacing_rate(now, channel_cwnd, channel_rtt)
        return True

    def send_one(self, now: float, holders: int) -> Segment | None:
        """Send the next segment to the group if the window, the retain limit and the pacer allow."""
        buf = self._buf
        if not buf.pending:
            return None
        cfg = self._config
        allowed = self._allowed
        limit = self._limit(allowed)
        length = buf.next_length(limit)
        end = buf.snd_nxt + length
        if (allowed is not None and end > allowed) or (end - buf.edge > cfg.max_window and not self._buffer_policy):
            return None  # under buffer:B, B bounds what a receiver that no longer paces holds back
        if not self._make_room(length):
            return None
        if not self._pacer.allowed(length + DATA_HEADER_SIZE, now):
            self.pacing_wakeup = self._pacer.next_send_time(length + DATA_HEADER_SIZE, now)
            return None
        # The stream's last segment asks for an ACK at once: nothing follows it to fill the
        # receivers' delayed-ACK count, so each would otherwise hold its final ACK for the timer.
        ack_every = 1 if self._closed and length == buf.pending else self._ack_every
        segment = buf.take(now, cfg.window_policy.acks_needed(holders), holders, ack_every, limit)
        self._last_multicast = now
        self._out.original(segment.start, segment.payload, segment.flags, ack_every, now)
        return segment

    def _limit(self, allowed: int | None) -> int | None:
        """A shorter cut when the window holds less than one segment of the size path MTU discovery
        found, but at least one of the base size: a window that stopped growing (no data in flight,
        so no ACK to come) never stalls a large segment. None: a full segment."""
        buf = self._buf
        base = self._config.mss
        if allowed is None or buf.mss <= base:
            return None
        room = allowed - buf.snd_nxt
        return room if base <= room < buf.mss else None

    def keepalive(self, interval: float, now: float) -> float:
        """Multicast a heartbeat if the group heard nothing for ``interval``; returns when to look again."""
        if now >= self._last_multicast + interval - 1e-6:  # also while admission waits
            self._out.heartbeat(self._buf.snd_nxt, now)
            self._last_multicast = now
        return max(now, self._last_multicast) + interval

    def _make_room(self, length: int) -> bool:
        """Keep the retained bytes within the policy's limit; False when sending must wait."""
        buf = self._buf
        policy = self._config.window_policy
        limit = policy.buffer_bytes if policy.kind == "buffer" else self._config.retain_limit
        excess = buf.snd_nxt + length - buf.base - limit
        if excess <= 0:
            return True
        if policy.kind == "slowest":
            return False
        buf.force_release(buf.base + excess)
        return True

    def _ack_hint(self, channel_cwnd: int) -> int:
        cfg = self._config
        slow_start = not self._slow_start_over and channel_cwnd < cfg.max_window
        return cfg.ack_frequency.segments_per_ack(slow_start=slow_start, window_segments=channel_cwnd // self._buf.mss)

    def _set_pacing_rate(self, now: float, channel_cwnd: int, channel_rtt: float | None) -> None:
        """Pace at the congestion-control rate, never above the configured ceiling (``max_rate``)."""
        rate: float | None = None
        if self._config.pacing and channel_rtt:
            gain = PACING_GAIN if self._slow_start_over else PACING_GAIN_SLOW_START
            rate = gain * channel_cwnd / channel_rtt
        ceiling = self._ceiling
        if ceiling is not None and (rate is None or rate > ceiling):
            rate = ceiling
        self._pacer.set_rate(rate, now)
