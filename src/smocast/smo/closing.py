"""How a channel ends: FINs, completions, drops, and the end of the channel itself.

:class:`Closing` owns the channel's ending: whether the application closed it, the stream's
final length (``end``, fixed once everything written was sent once), how many receivers
completed and how many were dropped, and whether the channel is finished. It alone removes a
child from what the channel keeps (the send buffer's release counters, the membership, the
sweeper's observations), and each of its methods returns the event the channel must report.
"""

from __future__ import annotations

from smocast.smo import events as ev
from smocast.smo.child import Child, ChildState
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceOutbox
from smocast.smo.resets import Resets
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.sweep import Sweeper
from smocast.wire import reset_reason


class Closing:
    """The end of each receiver's connection and of the channel; O(1) per receiver."""

    # fmt: off
    __slots__ = (
        "_buf", "_members", "_out", "_resets", "_sweeper", "completed", "dropped", "end", "finished", "requested",
    )
    # fmt: on

    def __init__(
        self, buf: SendBuffer, members: Membership, sweeper: Sweeper, out: SourceOutbox, resets: Resets
    ) -> None:
        self._buf = buf
        self._members = members
        self._sweeper = sweeper
        self._out = out
        self._resets = resets
        self.requested = False  # the application called close(): no more data
        self.end: int | None = None  # final stream length, once closed and fully segmented
        self.finished = False
        self.completed = 0
        self.dropped = 0

    def close(self) -> None:
        """The application has no more data: the channel must then call :meth:`finish` as it sends."""
        self.requested = True

    def send_fin(self, child: Child, now: float) -> None:
        """``child`` acknowledged the whole stream: send it the FIN, and time the FIN's ACK."""
        self._out.fin(child.address, child.connection, self._buf.snd_nxt, now)
        child.fin_sent(now)

    def complete(self, child: Child, now: float) -> ev.ReceiverCompleted:
        """``child`` acknowledged the FIN: remove it. The channel must report the event."""
        self._remove(child)
        self.completed += 1
        return ev.ReceiverCompleted(child.index, child.address, child.una - child.start, now, self._members.info(child))

    def drop(self, child: Child, reason: ev.DropReason, detail: str, now: float) -> ev.ReceiverDropped | None:
        """Reset ``child`` and remove it; the others go on. The channel must report the event
        (None: it was already removed, nothing to report)."""
        if child.state is ChildState.CLOSED:
            return None
        self._resets.reset(child.address, child.connection, child.una, reason.value)
        self._remove(child)
        self.dropped += 1
        return ev.ReceiverDropped(child.index, child.address, reason, detail, now, self._members.info(child))

    def left(self, child: Child, payload: bytes, now: float) -> ev.ReceiverLeft:
        """``child``'s receiver reset its connection (an RST, ``payload`` says why): remove it.
        The channel must report the event."""
        self._remove(child)
        code, text = reset_reason(payload)
        return ev.ReceiverLeft(child.index, child.address, now, self._members.info(child), code, text)

    def finish(self, started: bool, now: float) -> ev.ChannelFinished | None:
        """Once closed and everything is sent once: fix the stream's end, FIN the receivers
        that have it all, and, when no receiver is left, finish. On an event the channel must
        stop its periodic timers and report it."""
        if self.finished or not self.requested or not started or self._buf.pending:
            return None
        if self.end is None:
            self.end = self._buf.snd_nxt
            for child in [c for c in self._members if c.state is ChildState.ESTABLISHED and c.una == self.end]:
                self.send_fin(child, now)
        if len(self._members):
            return None
        self.finished = True
        return ev.ChannelFinished(self.completed, self.dropped, now)

    def _remove(self, child: Child) -> None:
        if child.state is ChildState.CLOSED:
            return
        self._buf.on_receiver_removed(max(child.una, child.count_from))
        self._members.remove(child)
        self._sweeper.forget(child)
        child.close()
