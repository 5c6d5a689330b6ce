"""Events the protocol-class endpoints report to the application (frozen, as h11's are)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivered:
    """Receiver: packet ``seq`` is delivered, in order and exactly once."""

    seq: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamComplete:
    """Receiver: every packet of the stream, ``packets`` in all, has been delivered."""

    packets: int
    at: float


@dataclass(frozen=True, slots=True)
class SenderFinished:
    """Sender: the stream is closed and every packet was released by the class's rule."""

    packets: int
    at: float


@dataclass(frozen=True, slots=True)
class RepairUnavailable:
    """Sender (or repairer): a NAK asked for ``seq``, which a finite buffer no longer holds.

    In a receiver-initiated class with no application-level recovery this is the deadlock of
    Levine's Theorem 2: the requesting receiver can never get ``seq``. Reported once per seq.
    """

    seq: int
    at: float


ClassEvent = Delivered | StreamComplete | SenderFinished | RepairUnavailable
"""Every event a protocol-class endpoint reports."""
