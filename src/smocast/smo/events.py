"""Events the TCP-SMO endpoints report to the application (frozen, as h11's are).

The receiver's events are NamedTuples, not frozen dataclasses: every receiver process builds
these classes when it starts, and a NamedTuple class costs several times less to create than
a frozen dataclass (and a NamedTuple instance less than half as much to build). Tell them
apart by type (``isinstance``, ``match``), never by ``==``: two events of different types
with the same fields compare equal, as tuples do.

Receiver side, here: connection, data, end of stream, reset. Source side (receivers joining,
leaving, being dropped with the reason, completing): :mod:`smocast.smo.source_events`, loaded
on first use, so a receiver never creates those classes; ``smocast.smo.events.ReceiverJoined``
and the like keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from smocast.core.lazy import lazy_exports
from smocast.wire import ResetCode

if TYPE_CHECKING:  # the source side, re-exported (loaded on first use below)
    from smocast.smo.drop_reason import DropReason
    from smocast.smo.source_events import (
        ChannelFinished,
        ReceiverCompleted,
        ReceiverDropped,
        ReceiverInfo,
        ReceiverJoined,
        ReceiverLeft,
        SessionData,
        SourceEvent,
        TransferStarted,
    )

_SOURCE_SIDE = (
    "ChannelFinished",
    "ReceiverCompleted",
    "ReceiverDropped",
    "ReceiverInfo",
    "ReceiverJoined",
    "ReceiverLeft",
    "SessionData",
    "SourceEvent",
    "TransferStarted",
)
__all__ = [
    "ChannelFinished",
    "ConnectFailed",
    "Connected",
    "ConnectionReset",
    "DataReceived",
    "DropReason",
    "MessageReceived",
    "ReceiverCompleted",
    "ReceiverDropped",
    "ReceiverEvent",
    "ReceiverInfo",
    "ReceiverJoined",
    "ReceiverLeft",
    "SessionData",
    "Skipped",
    "SourceEvent",
    "StreamEnded",
    "TransferStarted",
]
__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    {**dict.fromkeys(_SOURCE_SIDE, "smocast.smo.source_events"), "DropReason": "smocast.smo.drop_reason"},
)


# --- receiver side -----------------------------------------------------------------------


class Connected(NamedTuple):
    """The handshake completed; the stream starts at offset ``start``."""

    start: int
    at: float


class DataReceived(NamedTuple):
    """In-order bytes of the stream, starting at stream offset ``offset``.

    One is made per delivered segment.
    """

    offset: int
    data: bytes


class MessageReceived(NamedTuple):
    """One whole message (framing mode) that started at stream offset ``offset``."""

    offset: int
    data: bytes


class Skipped(NamedTuple):
    """Real-time mode gave up the stream bytes ``[start, end)``: late, lost, or half a message."""

    start: int
    end: int
    at: float


class StreamEnded(NamedTuple):
    """The source closed the stream; every byte up to ``length`` has been delivered."""

    length: int
    at: float


class ConnectionReset(NamedTuple):
    """The source reset this receiver (or the receiver gave up); it has left the channel.

    ``reason`` is for people (from the source's RST, or the receiver's own words); ``code``
    says whose decision it was: the source's (``DROPPED``, ``REFUSED``...), or the
    receiver's own, ``SOURCE_SILENT``, when it heard nothing from the source for too long.
    """

    reason: str
    at: float
    code: ResetCode = ResetCode.UNSPECIFIED


class ConnectFailed(NamedTuple):
    """No SYN-ACK came back within the connect timeout."""

    reason: str
    at: float


ReceiverEvent = Connected | DataReceived | MessageReceived | Skipped | StreamEnded | ConnectionReset | ConnectFailed
