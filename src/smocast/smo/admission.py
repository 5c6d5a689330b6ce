"""Admission: who may join a channel, the three-way handshake's source side, and when data may flow.

A receiver opens its connection with a SYN; the source answers with a SYN-ACK that names
the stream offset the receiver starts at, and the receiver's ACK of it establishes the
connection. In ``wait`` admission the transfer starts once ``min_receivers`` are
established, and later joiners are refused (except one that resumes at an offset the
channel can still serve); in ``continuous`` admission data flows at once and a late joiner
starts at the current sequence.
"""

from __future__ import annotations

from collections.abc import Callable

from smocast.core.congestion import make_controller
from smocast.core.datagram import Address
from smocast.core.rtt import RttEstimator
from smocast.core.timers import TimerQueue
from smocast.smo import events as ev
from smocast.smo.child import Child, ChildRules, History
from smocast.smo.config import ChannelConfig
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceOutbox
from smocast.smo.sendbuf import SendBuffer
from smocast.wire import FLAG_RESUME, Packet


class Admission:
    """The channel's handshakes: creates children, answers SYNs, refuses late joiners."""

    def __init__(
        self,
        config: ChannelConfig,
        buffer: SendBuffer,
        members: Membership,
        timers: TimerQueue,
        out: SourceOutbox,
        history: History | None,
    ) -> None:
        self._config = config
        self._buf = buffer
        self._members = members
        self._timers = timers
        self._out = out
        self._history = history
        self._rules = ChildRules(
            mss=config.mss,
            progress_timeout=config.drop_rules.progress_timeout,
            handshake_timeout=config.drop_rules.handshake_timeout,
            history=history,
        )
        self.started = config.admission == "continuous"

    def on_syn(
        self, packet: Packet, source: Address, on_timer: Callable[[Child, float], None], now: float
    ) -> ev.ReceiverDropped | None:
        """A SYN from ``source``: answer it, create its child, or refuse it (the event to report).

        ``on_timer(child, now)`` is the channel's handler of the new child's timer.
        """
        child = self._members.find((source, packet.connection))
        if child is not None:
            self.send_syn_ack(child, packet.tsval, now)  # our SYN-ACK was lost
            return None
        start = self._buf.snd_nxt
        if packet.flags & FLAG_RESUME:
            resume = self._resume_point(packet.ack)
            if resume is None:
                self._out.rst(source, packet.connection, f"cannot resume at byte {packet.ack}: no longer held")
                return None
            start = resume
        elif self.started and self._config.admission != "continuous":
            self._out.rst(source, packet.connection, "transfer in progress; late joiners are refused")
            index = self._members.next_index()
            return ev.ReceiverDropped(index, source, ev.DropReason.REFUSED, "SYN after the transfer started", now)
        child = self._new_child(source, packet.connection, start, on_timer, now)
        self._members.add(child)
        self.send_syn_ack(child, packet.tsval, now)
        return None

    def on_established(self, now: float) -> ev.TransferStarted | None:
        """A receiver completed its handshake; the event when that satisfies admission."""
        if self.started or self._members.live < self._config.min_receivers:
            return None
        self.started = True
        return ev.TransferStarted(self._members.live, now)

    def send_syn_ack(self, child: Child, echo: int, now: float) -> None:
        """Answer (or repeat the answer to) ``child``'s SYN, echoing its timestamp ``echo``."""
        self._out.syn_ack(child.address, child.connection, child.start, self._config.max_window, echo, now)

    def _resume_point(self, requested: int) -> int | None:
        """Where a receiver asking to resume at ``requested`` starts, or None if impossible."""
        start = min(requested, self._buf.snd_nxt)
        if start < self._buf.base and self._history is None:
            return None
        return start

    def _new_child(
        self, address: Address, connection: int, start: int, on_timer: Callable[[Child, float], None], now: float
    ) -> Child:
        cfg = self._config
        return Child(
            self._members.next_index(),
            address,
            connection,
            start,
            cc=make_controller(cfg.congestion_control, cfg.mss, cfg.max_window),
            rtt=RttEstimator(cfg.rto),
            buffer=self._buf,
            rules=self._rules,
            timers=self._timers,
            on_timer=on_timer,
            now=now,
        )
