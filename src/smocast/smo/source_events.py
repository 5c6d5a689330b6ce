"""Events a TCP-SMO source reports to the application: receivers joining, leaving, being dropped
(with the reason), completing; the transfer starting and the channel finishing.

They are also reachable as ``smocast.smo.events.<name>``; the module loads on first use, so a
receiver never creates these classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from smocast.core.datagram import Address
from smocast.smo.drop_reason import DropReason
from smocast.wire import ResetCode


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
    loss_episodes: int = 0  # loss recovery episodes it entered
    window_cuts: int = 0  # episodes and timeouts that made its congestion window smaller
    reordering: bool = False  # its path delivered an original after later data (only time declares losses)


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


SourceEvent: TypeAlias = (
    ReceiverJoined
    | ReceiverLeft
    | ReceiverDropped
    | ReceiverCompleted
    | SessionData
    | TransferStarted
    | ChannelFinished
)
