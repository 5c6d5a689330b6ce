"""smocast: reliable one-to-many delivery over IP multicast.

The flagship protocol is TCP-SMO run in user space over UDP: one source keeps a TCP-like
control block per receiver, sends each segment once to a multicast group, and uses the
per-receiver ACKs for reliability, RTT, congestion and flow control.

The protocol cores (:mod:`smocast.smo`, :mod:`smocast.classes`) are sans-IO objects; the
deterministic simulator (:mod:`smocast.sim`) and the asyncio runtime drive the same objects.

The names below are loaded on first use, so ``import smocast.smo`` (or the simulator) never
loads the asyncio runtime or a socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smocast.core.lazy import lazy_exports

__version__ = "0.1.0"

#: Where each public name lives; ``smocast.<name>`` imports that module on first use.
_EXPORTS: dict[str, str] = {
    "AsyncChannel": "smocast.aio",
    "AsyncReceiver": "smocast.aio",
    "AsyncRelay": "smocast.aio",
    "ChannelSummary": "smocast.aio",
    "ConnectFailedError": "smocast.aio",
    "NetworkError": "smocast.aio",
    "ReceiverRecord": "smocast.aio",
    "ResetError": "smocast.aio",
    "connect": "smocast.aio",
    "open_channel": "smocast.aio",
    "open_relay": "smocast.aio",
    "ReceiverSecurity": "smocast.aio.security",
    "SourceSecurity": "smocast.aio.source_security",
    "Gap": "smocast.aio.receiver",
    "Message": "smocast.aio.receiver",
    "ChannelConfig": "smocast.smo",
    "DropReason": "smocast.smo",
    "ReceiverConfig": "smocast.smo",
    "ReceiverInfo": "smocast.smo",
    "ChannelFinished": "smocast.smo.events",
    "ReceiverCompleted": "smocast.smo.events",
    "ReceiverDropped": "smocast.smo.events",
    "ReceiverJoined": "smocast.smo.events",
    "ReceiverLeft": "smocast.smo.events",
    "SessionData": "smocast.smo.events",
    "TransferStarted": "smocast.smo.events",
    "ResetCode": "smocast.wire",
}

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
    "ReceiverSecurity",
    "ResetCode",
    "ResetError",
    "SessionData",
    "SourceSecurity",
    "TransferStarted",
    "__version__",
    "connect",
    "open_channel",
    "open_relay",
]

if TYPE_CHECKING:
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
    from smocast.wire import ResetCode

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
