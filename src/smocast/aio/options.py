"""Keyword options of the public API: addresses, and the endpoints' frozen configs built from keywords.

Every field of :class:`~smocast.smo.config.ChannelConfig` and of its
:class:`~smocast.smo.config.DropRules` is a keyword of :func:`channel_config` (and so of
``smocast.open_channel``); the policies also accept the strings the command line takes::

    channel_config(min_receivers=3, policy="quorum:0.9", cwnd_policy="fair:1,4", progress_timeout=5)
    channel_config(max_rate="50mbit")  # or max_rate=50e6: a pacing ceiling in bits per second

Likewise every field of :class:`~smocast.smo.config.ReceiverConfig` for :func:`receiver_config`.
An unknown keyword is a :class:`~smocast.core.errors.ConfigError` that lists the known ones.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from smocast.core.acking import AckFrequency
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.core.units import parse_rate
from smocast.smo.receiver_config import ReceiverConfig

if TYPE_CHECKING:  # a receiver loads none of the channel's settings: they load in channel_config()
    from smocast.aio.security import ReceiverSecurity
    from smocast.aio.source_security import SourceSecurity
    from smocast.core.rtt import RtoSettings
    from smocast.smo.config import ChannelConfig, DropRules
    from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy

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
    session_message_limit: int
    session_limit: int
    rtt_factor: float | None
    rtt_floor: float
    cwnd_floor: int | None
    cwnd_floor_time: float
    progress_timeout: float | None
    min_rate_fraction: float | None
    handshake_timeout: float
    max_rate: float | str | None
    pmtu_ceiling: int | None
    pmtu_overhead: int


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
    silent_heartbeats: int | None


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


_RECEIVER_FIELDS = frozenset(f.name for f in dataclasses.fields(ReceiverConfig))
_CHANNEL_ALIASES = {"policy": "window_policy"}
_RECEIVER_ALIASES = {"timeout": "connect_timeout"}


def parse_address(value: AddressLike, what: str) -> Address:
    """``"host:port"``, ``"[ipv6]:port"`` or ``(host, port)`` -> ``(host, port)``; ConfigError names ``what``.

    An IPv6 address is written in brackets, ``[ff3e::1]:5000`` (a link-local one with its
    zone, ``[fe80::1%eth0]:5000``); the host comes back without them.
    """
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ConfigError(f"{what} must be (host, port), got {value!r}")
        host, port_value = value
        port_text = str(port_value)
    else:
        host, port_text = _split_host_port(str(value).strip(), what)
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"{what}: port {port_text!r} is not a number") from None
    if not 0 <= port < 65536:
        raise ConfigError(f"{what}: port {port} is not in 0..65535")
    return (str(host) or "0.0.0.0", port)


def _split_host_port(text: str, what: str) -> tuple[str, str]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ConfigError(f"{what} must look like [IPV6]:PORT, got {text!r}")
        return host, rest[1:]
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise ConfigError(f"{what} must look like HOST:PORT, got {text!r}")
    if ":" in host:
        raise ConfigError(f"{what}: write an IPv6 address in brackets, [{host}]:{port_text}, got {text!r}")
    return host, port_text


def channel_config(config: ChannelConfig | None = None, **options: Unpack[ChannelOptions]) -> ChannelConfig:
    """``config`` (or the defaults) with ``options`` applied; policies may be strings."""
    from smocast.smo.config import ChannelConfig, DropRules  # noqa: PLC0415  (only a source loads them)

    channel_fields = frozenset(f.name for f in dataclasses.fields(ChannelConfig))
    drop_fields = frozenset(f.name for f in dataclasses.fields(DropRules))
    base = config or ChannelConfig()
    changes: dict[str, Any] = {}
    drop_changes: dict[str, Any] = {}
    given: dict[str, Any] = dict(options)  # untyped callers may pass anything: checked below
    for key, value in given.items():
        name = _CHANNEL_ALIASES.get(key, key)
        if name == "ack_every":
            changes["ack_frequency"] = AckFrequency(fixed=value)
        elif name in drop_fields:
            drop_changes[name] = value
        elif name in channel_fields:
            changes[name] = _parse_channel_value(name, value)
        else:
            known = sorted(channel_fields | drop_fields | set(_CHANNEL_ALIASES) | {"ack_every"})
            raise ConfigError(f"unknown channel option {key!r}; known options: {', '.join(known)}")
    if drop_changes:
        rules = changes.get("drop_rules", base.drop_rules)
        changes["drop_rules"] = dataclasses.replace(rules, **drop_changes)
    return dataclasses.replace(base, **changes) if changes else base


def _parse_channel_value(name: str, value: Any) -> Any:
    from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy  # noqa: PLC0415

    if isinstance(value, str):
        if name == "max_rate":
            return parse_rate(value)
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
