"""Events the TCP-SMO endpoints report to the application (frozen, as h11's are).

Source side: receivers joining, leaving, being dropped (with the reason), completing.
Receiver side: connection, data, end of stream, reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from smocast.core.datagram import Address
from smocast.wire import ResetCode


class DropReason(StrEnum):
    """Why the source dis-associated a receiver."""

    RTT_EXCESSIVE = "rtt-excessive"
    CWND_FLOOR = "cwnd-below-floor"
    NO_PROGRESS = "no-progress"
    FELL_BEHIND = "fell-behind-buffer"
    HANDSHAKE_TIMEOUT = "handshake-timeout"
    REFUSED = "late-join-refused"
    APPLICATION = "application"
    UNREACHABLE = "unreachable"  # ICMP port unreachable, then no ACK for a few round trips


# --- source side -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiverInfo:
    """Accounting for one receiver: who, since when, how far, and how its path looks."""

    receiver: int
    address: Address
    state: str
    joined_at: float
    start: int
    acked: int
    srtt: float | None
    cwnd: int
    repairs_unicast: int
    repairs_multicast: int
    passive: bool


@dataclass(frozen=True, slots=True)
class ReceiverJoined:
    receiver: int
    address: Address
    start: int
    at: float


@dataclass(frozen=True, slots=True)
class ReceiverLeft:
    """The receiver closed its side (sent RST); it is removed, the others go on.

    ``reason`` and ``detail`` are what its RST said: why it left (``DISK_FULL``,
    ``INTERRUPTED``...) and its own words. ``detail`` comes from the network: print it
    through :func:`smocast.text.plain` (or :func:`~smocast.text.printable`).
    """

    receiver: int
    address: Address
    at: float
    info: ReceiverInfo | None = None  # its accounting when it left
    reason: ResetCode = ResetCode.UNSPECIFIED
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ReceiverDropped:
    """The source dis-associated the receiver: it was sent RST and removed."""

    receiver: int
    address: Address
    reason: DropReason
    detail: str
    at: float
    info: ReceiverInfo | None = None  # its accounting when it was dropped


@dataclass(frozen=True, slots=True)
class ReceiverCompleted:
    """The receiver acknowledged everything up to and including the FIN."""

    receiver: int
    address: Address
    acked: int
    at: float
    info: ReceiverInfo | None = None  # its final accounting


@dataclass(frozen=True, slots=True)
class SessionData:
    """A receiver sent ``data`` up its connection (session relay); the source may multicast it."""

    receiver: int
    address: Address
    data: bytes
    at: float


@dataclass(frozen=True, slots=True)
class TransferStarted:
    """Admission is satisfied; data is flowing."""

    receivers: int
    at: float


@dataclass(frozen=True, slots=True)
class ChannelFinished:
    """Every receiver completed or was removed after ``close()``; the channel is done."""

    completed: int
    dropped: int
    at: float


# --- receiver side -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The handshake completed; the stream starts at offset ``start``."""

    start: int
    at: float


class DataReceived(NamedTuple):
    """In-order bytes of the stream, starting at stream offset ``offset``.

    Immutable like the other events, but a NamedTuple: one is made per delivered segment,
    and a NamedTuple costs less than half as much to build as a frozen dataclass.
    """

    offset: int
    data: bytes


class MessageReceived(NamedTuple):
    """One whole message (framing mode) that started at stream offset ``offset``."""

    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Skipped:
    """Real-time mode gave up the stream bytes ``[start, end)``: late, lost, or half a message."""

    start: int
    end: int
    at: float


@dataclass(frozen=True, slots=True)
class StreamEnded:
    """The source closed the stream; every byte up to ``length`` has been delivered."""

    length: int
    at: float


@dataclass(frozen=True, slots=True)
class ConnectionReset:
    """The source reset this receiver (or the receiver gave up); it has left the channel.

    ``reason`` is for people (from the source's RST, or the receiver's own words); ``code``
    says whose decision it was: the source's (``DROPPED``, ``REFUSED``...), or the
    receiver's own, ``SOURCE_SILENT``, when it heard nothing from the source for too long.
    """

    reason: str
    at: float
    code: ResetCode = ResetCode.UNSPECIFIED


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """No SYN-ACK came back within the connect timeout."""

    reason: str
    at: float


SourceEvent = (
    ReceiverJoined
    | ReceiverLeft
    | ReceiverDropped
    | ReceiverCompleted
    | SessionData
    | TransferStarted
    | ChannelFinished
)
ReceiverEvent = Connected | DataReceived | MessageReceived | Skipped | StreamEnded | ConnectionReset | ConnectFailed
