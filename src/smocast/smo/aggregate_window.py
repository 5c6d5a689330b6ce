"""The channel's aggregate window: how far new data may go, given every pacing receiver.

Policy F's window edge is kept by the send buffer's per-segment counters. :class:`AggregateWindow`
keeps the rest of the aggregate:

* policy G's channel window and RTT (``cwnd``, ``rtt``), which the periodic sweep sets;
* each pacing receiver's right edge in the membership (its ``una`` plus the smaller of its
  window and its receive window, see :meth:`~smocast.smo.child.Child.right_edge`), and who
  paces: a receiver that timed out stops pacing under a non-strict window policy, and one left
  behind paces again once it caught up;
* the parked receivers: those with everything acknowledged, whose timers wait for new data.

The channel's per-ACK shortcut reads ``fair`` and ``cwnd`` and moves the edge itself (one
dictionary update); everything else goes through these methods.
"""

from __future__ import annotations

from smocast.smo.child import Child, ChildState
from smocast.smo.config import ChannelConfig
from smocast.smo.membership import Membership
from smocast.smo.progress import RateWatch
from smocast.smo.sendbuf import SendBuffer


class AggregateWindow:
    """Policy G's window, the pacing receivers' right edges, and the parked receivers."""

    __slots__ = ("_buf", "_members", "_mss", "_rates", "_slowest", "cwnd", "fair", "idle", "rtt")

    def __init__(
        self, config: ChannelConfig, buf: SendBuffer, members: Membership, rates: RateWatch, initial_window: int
    ) -> None:
        self._buf = buf
        self._members = members
        self._rates = rates
        self._mss = config.mss
        self._slowest = config.window_policy.kind == "slowest"
        self.fair = config.cwnd_policy.kind == "fair"  # the channel window is every pacing receiver's
        self.cwnd = initial_window  # policy G's channel cwnd, refreshed by the sweep
        self.rtt: float | None = None  # the channel RTT, refreshed by the sweep
        self.idle: list[Child] = []  # children with nothing outstanding: arm them on the next send

    def window_of(self, child: Child) -> int:
        """The window ``child``'s right edge counts: its own cwnd, or the channel's under ``fair``."""
        return self.cwnd if self.fair else child.cc.cwnd

    def first_rtt(self, srtt: float | None) -> None:
        """A receiver joined with an RTT sample: until the first sweep, the channel RTT is its."""
        if self.rtt is None:
            self.rtt = srtt

    def start_pacing(self, child: Child) -> None:
        """``child`` paces the channel (again), from its right edge now."""
        self._members.start_pacing(child, child.right_edge(self.window_of(child)))

    def timed_out(self, child: Child) -> None:
        """``child``'s retransmission timer expired: it stops pacing, unless the policy is ``slowest``."""
        if not self._slowest:
            self._members.stop_pacing(child)

    def sync_edge(self, child: Child) -> None:
        """``child``'s window or acknowledgements changed: move its right edge, if it paces."""
        self._members.move_edge(child, child.right_edge(self.window_of(child)))

    def on_acked_more(self, child: Child, ack: int, now: float) -> None:
        """An ACK (of the general path) moved ``child``'s ``una`` to ``ack``: a receiver left
        behind may pace again; park it when everything sent is acknowledged."""
        caught_up = ack >= self._buf.edge and child.rwnd >= self._mss  # and its window is open
        rates = self._rates
        if ack >= self._buf.snd_nxt:
            rates.caught_up(child)
        if caught_up and not self._members.is_pacing(child) and not rates.is_slow(child):
            self.start_pacing(child)
        if ack >= self._buf.snd_nxt:
            self.park(child, now)

    def time_or_park(self, child: Child, now: float) -> None:
        """A child that just joined: arm its timer if data is outstanding, else park it."""
        if child.una < self._buf.snd_nxt:
            child.arm_timer(now)
        else:
            self.park(child, now)

    def park(self, child: Child, now: float) -> None:
        """Everything sent is acknowledged: no timer until new data goes out (see :meth:`resume_idle`)."""
        child.park(now)
        self.idle.append(child)

    def resume_idle(self, now: float) -> None:
        """New data went out: children that had everything acked now have something to time."""
        idle, self.idle = self.idle, []
        for child in idle:
            if child.state is ChildState.ESTABLISHED and not child.timer.armed:
                child.resume(now)

    def set(self, rtt: float | None, cwnd: int) -> None:
        """The sweep measured the channel RTT and policy G's window; under ``fair`` every pacing
        receiver's right edge moves with the window."""
        self.rtt = rtt
        if cwnd == self.cwnd:
            return
        self.cwnd = cwnd
        if self.fair:
            for child in self._members:
                if child.established and self._members.is_pacing(child):
                    self.sync_edge(child)
