"""Keyword options of the public API: addresses, and the endpoints' frozen configs built from keywords.

Every field of :class:`~smocast.smo.config.ChannelConfig` and of its
:class:`~smocast.smo.config.DropRules` is a keyword of :func:`channel_config` (and so of
``smocast.open_channel``); the policies also accept the strings the command line takes::

    channel_config(min_receivers=3, policy="quorum:0.9", cwnd_policy="fair:1,4", progress_timeout=5)

Likewise every field of :class:`~smocast.smo.config.ReceiverConfig` for :func:`receiver_config`.
An unknown keyword is a :class:`~smocast.core.errors.ConfigError` that lists the known ones.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from smocast.core.acking import AckFrequency
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.core.rtt import RtoSettings
from smocast.smo.config import ChannelConfig, DropRules, ReceiverConfig
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity, SourceSecurity

AddressLike = tuple[str, int] | str
"""``("232.1.1.1", 5000)`` or ``"232.1.1.1:5000"``."""


class ChannelOptions(TypedDict, total=False):
    """The keywords of ``open_channel``: every :class:`ChannelConfig` and :class:`DropRules` field.

    Policies take the strings the command line takes (``"quorum:0.9"``, ``"fair:1,4"``,
    ``"percentile:90"``); ``policy`` is ``window_policy``; ``ack_every`` pins the ACK frequency.
    """

    channel_id: int
    mss: int
    admission: str
    min_receivers: int
    window_policy: WindowPolicy | str
    policy: WindowPolicy | str
    cwnd_policy: CwndPolicy | str
    rtt_policy: RttPolicy | str
    repair_multicast_fraction: float
    drop_rules: DropRules
    congestion_control: str
    max_window: int
    retain_limit: int
    rto: RtoSettings
    ack_frequency: AckFrequency
    ack_every: int
    pacing: bool
    pacing_burst_segments: int
    sweep_interval: float
    keepalive: float | None
    rtt_factor: float | None
    rtt_floor: float
    cwnd_floor: int | None
    cwnd_floor_time: float
    progress_timeout: float | None
    handshake_timeout: float


class ReceiverOptions(TypedDict, total=False):
    """The keywords of ``connect``: every :class:`ReceiverConfig` field (``timeout`` is ``connect_timeout``)."""

    channel_id: int
    receive_buffer: int
    ack_delay: float
    connect_timeout: float
    timeout: float
    syn_interval: float
    max_early_segments: int
    resume_from: int | None
    realtime: bool
    playout_delay: float | None
    framing: bool
    source_timeout: float | None


class OpenOptions(ChannelOptions, total=False):
    """The keywords a wrapper passes through to ``open_channel``: its own, then the channel's."""

    interface: str | None
    ttl: int
    max_unsent: int | None
    secure: bool
    security: SourceSecurity | None


class ConnectOptions(ReceiverOptions, total=False):
    """The keywords a wrapper passes through to ``connect``: its own, then the receiver's."""

    source: str | None
    interface: str | None
    linger: float
    idle_timeout: float | None
    secure: bool
    security: ReceiverSecurity | None


_CHANNEL_FIELDS = frozenset(f.name for f in dataclasses.fields(ChannelConfig))
_DROP_FIELDS = frozenset(f.name for f in dataclasses.fields(DropRules))
_RECEIVER_FIELDS = frozenset(f.name for f in dataclasses.fields(ReceiverConfig))
_CHANNEL_ALIASES = {"policy": "window_policy"}
_RECEIVER_ALIASES = {"timeout": "connect_timeout"}


def parse_address(value: AddressLike, what: str) -> Address:
    """``"host:port"`` or ``(host, port)`` -> ``(host, port)``; ConfigError names ``what`` when invalid."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ConfigError(f"{what} must be (host, port), got {value!r}")
        host, port_value = value
        port_text = str(port_value)
    else:
        host, sep, port_text = str(value).strip().rpartition(":")
        if not sep:
            raise ConfigError(f"{what} must look like HOST:PORT, got {value!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"{what}: port {port_text!r} is not a number") from None
    if not 0 <= port < 65536:
        raise ConfigError(f"{what}: port {port} is not in 0..65535")
    return (str(host) or "0.0.0.0", port)


def channel_config(config: ChannelConfig | None = None, **options: Unpack[ChannelOptions]) -> ChannelConfig:
    """``config`` (or the defaults) with ``options`` applied; policies may be strings."""
    base = config or ChannelConfig()
    changes: dict[str, Any] = {}
    drop_changes: dict[str, Any] = {}
    given: dict[str, Any] = dict(options)  # untyped callers may pass anything: checked below
    for key, value in given.items():
        name = _CHANNEL_ALIASES.get(key, key)
        if name == "ack_every":
            changes["ack_frequency"] = AckFrequency(fixed=value)
        elif name in _DROP_FIELDS:
            drop_changes[name] = value
        elif name in _CHANNEL_FIELDS:
            changes[name] = _parse_channel_value(name, value)
        else:
            known = sorted(_CHANNEL_FIELDS | _DROP_FIELDS | set(_CHANNEL_ALIASES) | {"ack_every"})
            raise ConfigError(f"unknown channel option {key!r}; known options: {', '.join(known)}")
    if drop_changes:
        rules = changes.get("drop_rules", base.drop_rules)
        changes["drop_rules"] = dataclasses.replace(rules, **drop_changes)
    return dataclasses.replace(base, **changes) if changes else base


def _parse_channel_value(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if name == "window_policy":
            return WindowPolicy.parse(value)
        if name == "cwnd_policy":
            return CwndPolicy.parse(value)
        if name == "rtt_policy":
            return RttPolicy.parse(value)
    return value


def receiver_config(config: ReceiverConfig | None = None, **options: Unpack[ReceiverOptions]) -> ReceiverConfig:
    """``config`` (or the defaults) with ``options`` applied (``timeout`` is ``connect_timeout``)."""
    base = config or ReceiverConfig()
    changes: dict[str, Any] = {}
    for key, value in options.items():
        name = _RECEIVER_ALIASES.get(key, key)
        if name not in _RECEIVER_FIELDS:
            known = sorted(_RECEIVER_FIELDS | set(_RECEIVER_ALIASES))
            raise ConfigError(f"unknown receiver option {key!r}; known options: {', '.join(known)}")
        changes[name] = value
    return dataclasses.replace(base, **changes) if changes else base
