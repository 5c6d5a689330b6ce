"""TCP-SMO in user space: the channel (source) and the receiver, as sans-IO endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smocast.core.lazy import lazy_exports

#: Where each public name lives; the module loads on first use (a receiver never loads the channel).
_EXPORTS: dict[str, str] = {
    "Channel": "smocast.smo.channel",
    "ChannelStats": "smocast.smo.channel",
    "ChannelConfig": "smocast.smo.config",
    "DropRules": "smocast.smo.config",
    "ReceiverConfig": "smocast.smo.config",
    "DropReason": "smocast.smo.events",
    "ReceiverInfo": "smocast.smo.events",
    "CwndPolicy": "smocast.smo.policies",
    "RttPolicy": "smocast.smo.policies",
    "WindowPolicy": "smocast.smo.policies",
    "Receiver": "smocast.smo.receiver",
    "ReceiverState": "smocast.smo.receiver",
}

if TYPE_CHECKING:
    from smocast.smo.channel import Channel, ChannelStats
    from smocast.smo.config import ChannelConfig, DropRules, ReceiverConfig
    from smocast.smo.events import DropReason, ReceiverInfo
    from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy
    from smocast.smo.receiver import Receiver, ReceiverState

__all__ = [
    "Channel",
    "ChannelConfig",
    "ChannelStats",
    "CwndPolicy",
    "DropReason",
    "DropRules",
    "Receiver",
    "ReceiverConfig",
    "ReceiverInfo",
    "ReceiverState",
    "RttPolicy",
    "WindowPolicy",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
