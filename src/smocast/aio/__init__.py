"""The asyncio runtime: TCP-SMO endpoints on real UDP sockets and IP multicast.

:func:`open_channel` opens a source, :func:`connect` a receiver, :func:`open_relay` a relay
(both at once). All drive the same sans-IO endpoints as the simulator (:mod:`smocast.smo`) with the same pump
(:mod:`smocast.aio.driver`); every socket option is set in :mod:`smocast.aio.sockopts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from smocast.core.lazy import lazy_exports

#: Where each public name lives; the module loads on first use (a receiver never loads the channel or the relay).
_EXPORTS: dict[str, str] = {
    "Opening": "smocast.aio.api",
    "connect": "smocast.aio.api",
    "open_channel": "smocast.aio.api",
    "AsyncChannel": "smocast.aio.channel",
    "ChannelSummary": "smocast.aio.records",
    "ReceiverRecord": "smocast.aio.records",
    "ConnectFailedError": "smocast.aio.errors",
    "NetworkError": "smocast.aio.errors",
    "ResetError": "smocast.aio.errors",
    "channel_config": "smocast.aio.options",
    "parse_address": "smocast.aio.options",
    "receiver_config": "smocast.aio.options",
    "AsyncReceiver": "smocast.aio.receiver",
    "AsyncRelay": "smocast.aio.relay",
    "RelayReport": "smocast.aio.relay",
    "open_relay": "smocast.aio.relay",
}

if TYPE_CHECKING:
    from smocast.aio.api import Opening, connect, open_channel
    from smocast.aio.channel import AsyncChannel
    from smocast.aio.errors import ConnectFailedError, NetworkError, ResetError
    from smocast.aio.options import channel_config, parse_address, receiver_config
    from smocast.aio.receiver import AsyncReceiver
    from smocast.aio.records import ChannelSummary, ReceiverRecord
    from smocast.aio.relay import AsyncRelay, RelayReport, open_relay

__all__ = [
    "AsyncChannel",
    "AsyncReceiver",
    "AsyncRelay",
    "ChannelSummary",
    "ConnectFailedError",
    "NetworkError",
    "Opening",
    "ReceiverRecord",
    "RelayReport",
    "ResetError",
    "channel_config",
    "connect",
    "open_channel",
    "open_relay",
    "parse_address",
    "receiver_config",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
