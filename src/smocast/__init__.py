"""smocast: reliable one-to-many delivery over IP multicast.

The flagship protocol is TCP-SMO run in user space over UDP: one source keeps a TCP-like
control block per receiver, sends each segment once to a multicast group, and uses the
per-receiver ACKs for reliability, RTT, congestion and flow control.

The protocol cores (:mod:`smocast.smo`, :mod:`smocast.classes`) are sans-IO objects; the
deterministic simulator (:mod:`smocast.sim`) and the asyncio runtime drive the same objects.
"""

__version__ = "0.1.0"

from smocast.aio import (
    AsyncChannel,
    AsyncReceiver,
    AsyncRelay,
    ChannelSummary,
    ConnectFailedError,
    NetworkError,
    ReceiverRecord,
    ResetError,
    connect,
    open_channel,
    open_relay,
)
from smocast.aio.receiver import Gap, Message
from smocast.smo import ChannelConfig, DropReason, ReceiverConfig, ReceiverInfo
from smocast.smo.events import (
    ChannelFinished,
    ReceiverCompleted,
    ReceiverDropped,
    ReceiverJoined,
    ReceiverLeft,
    SessionData,
    TransferStarted,
)

__all__ = [
    "AsyncChannel",
    "AsyncReceiver",
    "AsyncRelay",
    "ChannelConfig",
    "ChannelFinished",
    "ChannelSummary",
    "ConnectFailedError",
    "DropReason",
    "Gap",
    "Message",
    "NetworkError",
    "ReceiverCompleted",
    "ReceiverConfig",
    "ReceiverDropped",
    "ReceiverInfo",
    "ReceiverJoined",
    "ReceiverLeft",
    "ReceiverRecord",
    "ResetError",
    "SessionData",
    "TransferStarted",
    "__version__",
    "connect",
    "open_channel",
    "open_relay",
]
