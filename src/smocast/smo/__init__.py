"""TCP-SMO in user space: the channel (source) and the receiver, as sans-IO endpoints."""

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
