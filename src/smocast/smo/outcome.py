"""What a per-receiver sender (:class:`~smocast.smo.child.Child`) tells its channel, and its settings.

A child changes only its own state; each of its methods returns an :class:`Outcome` that the
channel acts on (it owns the packets, the send buffer and the membership).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from smocast.smo.drop_reason import DropReason
from smocast.smo.sendbuf import Segment

History = Callable[[int, int], bytes]
"""``history(offset, length)``: up to ``length`` stream bytes from ``offset`` (b"" when none)."""


class ChildState(Enum):
    SYN_RECEIVED = "syn-received"
    ESTABLISHED = "established"
    FIN_SENT = "fin-sent"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ChildRules:
    """What every child of one channel shares: its settings and the channel's data sources."""

    mss: int
    progress_timeout: float | None
    handshake_timeout: float
    history: History | None


@dataclass(slots=True)
class Outcome:
    """What the channel must do for a child after an ACK or a timer, in this order.

    ``drop``: reset and remove it (a reason and a human detail); nothing else applies.
    ``stop_pacing``: it timed out, so under a non-strict window policy it no longer paces.
    ``congestion``: it saw loss (the channel's slow start is over).
    ``history``: ``(offset, length)`` pieces to send it by unicast from history (catch-up).
    ``repairs``: segments to repair, unicast or multicast as the channel decides; for each
    unicast one the channel calls :meth:`Child.note_unicast_repair`.
    ``probe``: a tail loss probe, always by unicast.
    ``syn_ack``/``fin``: send (again) the SYN-ACK or the FIN.
    """

    drop: tuple[DropReason, str] | None = None
    stop_pacing: bool = False
    congestion: bool = False
    history: list[tuple[int, int]] = field(default_factory=list)
    repairs: list[Segment] = field(default_factory=list)
    probe: Segment | None = None
    syn_ack: bool = False
    fin: bool = False
