"""The channel's periodic work: the sweep, the keepalive, and the watch on unreachable receivers.

:class:`Periodic` owns three timers in the channel's queue:

* the sweep, every ``sweep_interval`` while the channel has receivers: the
  :class:`~smocast.smo.sweep.Sweeper` judges all receivers at once, and its decisions are
  applied here in the order it gives them (drop a receiver, stop its pacing, set policy G's
  window and the channel RTT);
* the keepalive: a heartbeat to the group after ``keepalive`` seconds in which it heard nothing;
* the timer of the :class:`~smocast.smo.unreachable.UnreachableWatch`: receivers an ICMP port
  unreachable named are dropped if they stay silent.

A receiver dropped here is dropped as any other
(:meth:`ChildActions.drop <smocast.smo.actions.ChildActions.drop>`): reset, removed and reported.
"""

from __future__ import annotations

from smocast.core.timers import Timer, TimerQueue
from smocast.smo.actions import ChildActions
from smocast.smo.aggregate_window import AggregateWindow
from smocast.smo.child import Child
from smocast.smo.closing import Closing
from smocast.smo.config import ChannelConfig
from smocast.smo.drop_reason import DropReason
from smocast.smo.membership import Membership
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.sweep import ChannelWindow, Dissociate, StopPacing, Sweeper
from smocast.smo.transmit import Transmitter
from smocast.smo.unreachable import UnreachableWatch


class Periodic:
    """The sweep, keepalive and unreachable-check timers of one channel, and what they do."""

    # fmt: off
    __slots__ = (
        "_actions", "_closing", "_config", "_keepalive_timer", "_members", "_sweep_timer", "_sweeper", "_timers",
        "_transmit", "_unreachable", "_window",
    )
    # fmt: on

    def __init__(
        self,
        config: ChannelConfig,
        timers: TimerQueue,
        buf: SendBuffer,
        members: Membership,
        parts: tuple[Sweeper, AggregateWindow, Transmitter, Closing],
        actions: ChildActions,
    ) -> None:
        """``parts`` are the objects the timers ask and tell; ``actions`` drops receivers."""
        self._config = config
        self._timers = timers
        self._members = members
        self._sweeper, self._window, self._transmit, self._closing = parts
        self._actions = actions
        self._sweep_timer = Timer(self._on_sweep)
        self._keepalive_timer = Timer(self._on_keepalive)
        self._unreachable = UnreachableWatch(buf, timers, self._on_unreachable_check)

    def start(self, now: float) -> None:
        """The channel sends: with receivers, the sweep runs (and the keepalive, if configured)."""
        if self._sweep_timer.due is None and len(self._members):
            self._timers.arm(self._sweep_timer, now + self._config.sweep_interval)
            if self._config.keepalive is not None and self._keepalive_timer.due is None:
                self._timers.arm(self._keepalive_timer, now + self._config.keepalive)

    def stop(self) -> None:
        """The channel finished: no more sweeps or keepalives."""
        self._timers.disarm(self._sweep_timer)
        self._timers.disarm(self._keepalive_timer)

    def unreachable(self, children: list[Child], now: float) -> None:
        """An ICMP port unreachable named the address of ``children``: drop them unless they answer."""
        self._unreachable.report(children, now)

    def _on_keepalive(self, now: float) -> None:
        """Nothing multicast for a while: tell the group where the stream stands."""
        interval = self._config.keepalive
        if interval is None or self._closing.finished or not len(self._members):
            return
        self._timers.arm(self._keepalive_timer, self._transmit.keepalive(interval, now))

    def _on_unreachable_check(self, now: float) -> None:
        for child, detail in self._unreachable.due(now):
            self._actions.drop(child, DropReason.UNREACHABLE, detail, now)

    def _on_sweep(self, now: float) -> None:
        window = self._window
        for decision in self._sweeper.run(window.rtt, window.cwnd, now):
            match decision:
                case Dissociate(child, reason, detail):
                    self._actions.drop(child, reason, detail, now)
                case StopPacing(child):
                    self._members.stop_pacing(child)
                case ChannelWindow(rtt, cwnd):
                    window.set(rtt, cwnd)
        if len(self._members):
            self._timers.arm(self._sweep_timer, now + self._config.sweep_interval)
