"""The asyncio runtime: TCP-SMO endpoints on real UDP sockets and IP multicast.

:func:`open_channel` opens a source, :func:`connect` a receiver, :func:`open_relay` a relay
(both at once). All drive the same sans-IO endpoints as the simulator (:mod:`smocast.smo`) with the same pump
(:mod:`smocast.aio.driver`); every socket option is set in :mod:`smocast.aio.sockets`.
"""

from smocast.aio.api import Opening, connect, open_channel
from smocast.aio.channel import AsyncChannel, ChannelSummary, ReceiverRecord
from smocast.aio.errors import ConnectFailedError, NetworkError, ResetError
from smocast.aio.options import channel_config, parse_address, receiver_config
from smocast.aio.receiver import AsyncReceiver
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
