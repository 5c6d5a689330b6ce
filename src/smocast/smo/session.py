"""The source's side of session relay (paper section IV.B): every receiver's up-stream.

A receiver may send messages up its connection (UPDATA); the source reassembles each
receiver's stream in an :class:`~smocast.smo.uplink.UpReceiver` made on its first segment,
acknowledges what arrived, and reports each completed message. What all the up-streams hold
together stays within one :class:`~smocast.smo.uplink.UpBudget` (``session_limit``).
"""

from __future__ import annotations

from smocast.smo.child import Child
from smocast.smo.events import SessionData
from smocast.smo.outbox import SourceOutbox
from smocast.smo.uplink import UpBudget, UpReceiver
from smocast.wire import Packet


class SessionRelay:
    """One channel's up-streams: one budget for all, one reassembly per receiver (``child.up``)."""

    __slots__ = ("_budget", "_max_message", "_out")

    def __init__(self, limit: int, max_message: int, out: SourceOutbox) -> None:
        self._budget = UpBudget(limit)
        self._max_message = max_message
        self._out = out

    def offer(self, child: Child, packet: Packet, now: float) -> list[SessionData]:
        """One UPDATA segment from ``child``'s receiver: acknowledge it, and return the messages it
        completed, which the channel must report. Raises
        :class:`~smocast.smo.framing.MessageTooLarge`: the channel must drop the receiver."""
        up = child.up
        if up is None:
            up = child.up = UpReceiver(self._budget, self._max_message)
        messages = up.offer(packet.seq, packet.payload)
        self._out.up_ack(child.address, child.connection, up.acked, packet.tsval, now)
        return [SessionData(child.index, child.address, message, now) for message in messages]
