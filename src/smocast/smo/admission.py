"""Admission: who may join a channel, the handshake's source side, and when data may flow.

A receiver opens its connection with a SYN. Nothing is stored for it until its address is
validated: a SYN without a valid cookie is answered with a RETRY that carries one
(:mod:`smocast.smo.cookies`, no larger than the SYN, one answer per SYN). A SYN that echoes
a valid cookie creates the receiver's child, and the source answers with a SYN-ACK that
names the stream offset the receiver starts at; the receiver's ACK of it establishes the
connection. Refusals (a late join, a resume below what is held) come only after the cookie,
so they reach real receivers only, and the channel counts them.

In ``wait`` admission the transfer starts once ``min_receivers`` are established, and
later joiners are refused (except one that resumes at an offset the channel can still
serve); in ``continuous`` admission data flows at once and a late joiner starts at the
current sequence.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from smocast.core.congestion import make_controller
from smocast.core.datagram import Address
from smocast.core.rtt import RttEstimator
from smocast.core.timers import TimerQueue
from smocast.smo import events as ev
from smocast.smo.child import Child, ChildRules, History
from smocast.smo.config import ChannelConfig
from smocast.smo.cookies import CookieJar
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceOutbox
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.stats import ChannelStats
from smocast.wire import FLAG_RESUME, Packet, ResetCode

AdmissionGate = Callable[[Address, int, bytes, float], bool]
"""A check a validated SYN must also pass before it gets state (the secure mode's key exchange).

``gate(address, connection, cookie, now)`` is called only for a SYN whose cookie is valid, so
whatever it costs is spent on proven addresses only; False refuses the SYN.
"""


REFUSED_SAMPLE = 16  # refusals reported as events; the rest are only counted (stats.refused)

NOT_ADMITTED = "not admitted"
"""The reason an RST gives when the gate refused: it says nothing of the channel."""


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
        rng: random.Random,
        stats: ChannelStats,
    ) -> None:
        """``rng`` draws the cookies' secrets; ``stats`` counts the attempts that leave no state."""
        self._config = config
        self._buf = buffer
        self._members = members
        self._timers = timers
        self._out = out
        self._history = history
        self._cookies = CookieJar(config.channel_id, rng)
        self._stats = stats
        self._rules = ChildRules(
            mss=config.mss,
            progress_timeout=config.drop_rules.progress_timeout,
            handshake_timeout=config.drop_rules.handshake_timeout,
            history=history,
        )
        self.started = config.admission == "continuous"
        self.gate: AdmissionGate | None = None  # set by a wrapper that must approve each validated SYN

    def on_syn(
        self, packet: Packet, source: Address, on_timer: Callable[[Child, float], None], now: float
    ) -> ev.ReceiverDropped | None:
        """A SYN from ``source``: send a RETRY, answer it, create its child, or refuse it.

        Returns the event the channel must report for a refusal, for the first
        :data:`REFUSED_SAMPLE` only (a bounded sample: the rest are counted). ``on_timer(child,
        now)`` is the channel's handler of a new child's timer.
        """
        connection = packet.connection
        if not self._cookies.check(packet.payload, source, connection, now):
            self._stats.retries += 1
            self._out.retry(source, connection, self._cookies.make(source, connection, now), packet.tsval)
            return None
        gate = self.gate
        child = self._members.find((source, connection))
        if child is not None:
            if gate is not None and not gate(source, connection, packet.payload, now):
                return self._refuse(source, connection, NOT_ADMITTED, now)
            self.send_syn_ack(child, packet.tsval, now)  # our SYN-ACK was lost
            return None
        start = self._buf.snd_nxt
        if packet.flags & FLAG_RESUME:
            resume = self._resume_point(packet.ack)
            if resume is None:
                return self._refuse(source, connection, f"cannot resume at byte {packet.ack}: no longer held", now)
            start = resume
        elif self.started and self._config.admission != "continuous":
            return self._refuse(source, connection, "transfer in progress; late joiners are refused", now)
        if gate is not None and not gate(source, connection, packet.payload, now):
            return self._refuse(source, connection, NOT_ADMITTED, now)  # last: the gate's work is the dearest
        child = self._new_child(source, connection, start, on_timer, now)
        self._members.add(child)
        self.send_syn_ack(child, packet.tsval, now)
        return None

    def _refuse(self, source: Address, connection: int, reason: str, now: float) -> ev.ReceiverDropped | None:
        """Tell a validated receiver why it may not join; counted, and the first ones reported."""
        self._stats.refused += 1
        self._out.rst(source, connection, 0, reason, code=ResetCode.REFUSED)
        index = self._members.next_index()
        if self._stats.refused > REFUSED_SAMPLE:
            return None
        return ev.ReceiverDropped(index, source, ev.DropReason.REFUSED, reason, now)

    def on_established(self, child: Child, now: float) -> list[ev.SourceEvent]:
        """``child`` completed its handshake: the events the channel must report (it joined,
        and the transfer started if that satisfies admission)."""
        joined = ev.ReceiverJoined(child.index, child.address, child.start, now)
        if self.started or self._members.live < self._config.min_receivers:
            return [joined]
        self.started = True
        return [joined, ev.TransferStarted(self._members.live, now)]

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
