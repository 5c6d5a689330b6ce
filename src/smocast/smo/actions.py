"""Carrying out what a child asks for: where an :class:`~smocast.smo.outcome.Outcome` becomes packets.

A child (:class:`~smocast.smo.child.Child`) changes only its own state and returns an outcome;
:class:`ChildActions` does what it asks, each part through the object that owns it: the end of
slow start (:class:`~smocast.smo.transmit.Transmitter`), leaving the pacing receivers
(:class:`~smocast.smo.aggregate_window.AggregateWindow`), a drop or a FIN
(:class:`~smocast.smo.closing.Closing`), repairs (:class:`~smocast.smo.repairs.RepairRouter`),
a repeated SYN-ACK (:class:`~smocast.smo.admission.Admission`). It is also every child's timer
handler, and it drops receivers for the channel and its periodic work, reporting the event.
"""

from __future__ import annotations

from collections import deque

from smocast.smo.admission import Admission
from smocast.smo.aggregate_window import AggregateWindow
from smocast.smo.child import Child, ChildState
from smocast.smo.closing import Closing
from smocast.smo.events import DropReason, SourceEvent
from smocast.smo.outcome import Outcome
from smocast.smo.repairs import RepairRouter
from smocast.smo.transmit import Transmitter


class ChildActions:
    """Acts on the outcomes of one channel's children; keeps no state of its own."""

    __slots__ = ("_admission", "_closing", "_events", "_repairs", "_transmit", "_window")

    def __init__(
        self,
        transmit: Transmitter,
        window: AggregateWindow,
        closing: Closing,
        repairs: RepairRouter,
        admission: Admission,
        events: deque[SourceEvent],
    ) -> None:
        """``events`` is the channel's event queue, where drops are reported."""
        self._transmit = transmit
        self._window = window
        self._closing = closing
        self._repairs = repairs
        self._admission = admission
        self._events = events

    def act(self, child: Child, outcome: Outcome, now: float) -> None:
        """Do what ``child`` asked for, in the order :class:`~smocast.smo.outcome.Outcome` gives."""
        if outcome.congestion:
            self._transmit.congestion_seen()
        if outcome.stop_pacing:
            self._window.timed_out(child)
        if outcome.drop is not None:
            self.drop(child, outcome.drop[0], outcome.drop[1], now)
            return
        repairs = self._repairs
        if outcome.history:
            repairs.from_history(child, outcome.history, now)
        for segment in outcome.repairs:
            repairs.route(segment, child, now)
        if outcome.probe is not None:
            repairs.to_child(outcome.probe, child, now)
        if outcome.syn_ack:
            self._admission.send_syn_ack(child, 0, now)
        if outcome.fin:
            self._closing.send_fin(child, now)

    def on_timer(self, child: Child, now: float) -> None:
        """``child``'s timer fired: act on each step it yields, until it is dropped."""
        for outcome in child.on_timer(now):
            self.act(child, outcome, now)
            if child.state is ChildState.CLOSED:
                return
            if outcome.stop_pacing:  # a retransmission timeout changed its window
                self._window.sync_edge(child)

    def drop(self, child: Child, reason: DropReason, detail: str, now: float) -> None:
        """Reset ``child`` and remove it (:meth:`Closing.drop <smocast.smo.closing.Closing.drop>`),
        and report it; nothing when it was already removed."""
        dropped = self._closing.drop(child, reason, detail, now)
        if dropped is not None:
            self._events.append(dropped)
