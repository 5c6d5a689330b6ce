"""The two calls of the public API, shaped like ``asyncio`` streams (and TCP's listen/connect).

Against a plain TCP program TCP-SMO adds one line on each side, as the paper promises: the
source names the group it multicasts to, the receiver names the group it subscribes to::

    async with smocast.open_channel(bind=("0.0.0.0", 5000), group=("232.1.1.1", 5000), min_receivers=3) as ch:
        await ch.send(data)          # waits for room (backpressure)
                                     # leaving the block waits until every receiver completed or was dropped

    async with smocast.connect(("source.example", 5000), ("232.1.1.1", 5000)) as rx:
        async for chunk in rx:
            ...

Both calls return an object that is an async context manager and can also be awaited
(``ch = await smocast.open_channel(...)``; then the caller must ``close()``/``abort()``).
"""

from __future__ import annotations

import random
import socket
from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, Unpack

from smocast.aio.options import (
    AddressLike,
    ChannelOptions,
    ReceiverOptions,
    channel_config,
    parse_address,
    receiver_config,
)
from smocast.aio.receiver import DEFAULT_LINGER, AsyncReceiver
from smocast.aio.sockets import check_group
from smocast.core.errors import ConfigError
from smocast.smo.receiver_config import DEFAULT_MSS, ReceiverConfig

if TYPE_CHECKING:
    from smocast.aio.channel import AsyncChannel
    from smocast.aio.security import ReceiverSecurity
    from smocast.aio.source_security import SourceSecurity
    from smocast.smo.channel import History
    from smocast.smo.config import ChannelConfig

ENVELOPE_OVERHEAD = 34
"""Bytes the secure mode adds to each packet (``smocast.secure.envelope.OVERHEAD``, checked by a test)."""

IPV4_UDP_OVERHEAD, IPV6_UDP_OVERHEAD = 28, 48
"""Bytes of the IP and UDP headers below each datagram."""
MIN_MTU, MAX_MTU = 576, 65535
"""The IP MTUs path MTU discovery accepts as its ceiling."""

PACING_BURST_SEGMENTS = 44
"""The runtime's default pacing burst: about 64 KB, one GSO super-packet, as Linux TCP sends.
The event loop's timers wake with 1 ms granularity (epoll), and a pacer can send at most one
burst per wake-up, so the sans-IO default of 10 segments would cap the rate near 110 Mbit/s."""


class _Closable(Protocol):
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


T = TypeVar("T", bound=_Closable)


class Opening(Generic[T]):
    """An endpoint being opened: ``await`` it, or use it with ``async with``."""

    def __init__(self, opener: Callable[[], Awaitable[T]]) -> None:
        self._opener = opener
        self._opened: T | None = None

    def __await__(self) -> Generator[Any, None, T]:
        return self._opener().__await__()

    async def __aenter__(self) -> T:
        self._opened = await self._opener()
        return self._opened

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._opened is not None:
            await self._opened.__aexit__(exc_type, exc, tb)


def open_channel(
    group: AddressLike,
    bind: AddressLike | None = None,
    *,
    interface: str | None = None,
    ttl: int = 1,
    max_unsent: int | None = None,
    config: ChannelConfig | None = None,
    rng: random.Random | None = None,
    history: History | None = None,
    secure: bool = True,
    security: SourceSecurity | None = None,
    pmtu: bool = False,
    max_mtu: int | None = None,
    **options: Unpack[ChannelOptions],
) -> Opening[AsyncChannel]:
    """Open the source of channel (S, G): bind ``bind`` (default ``0.0.0.0:<group port>``) and
    multicast to ``group``.

    ``interface`` is the interface to multicast from, by name (``eth0``) or address (default:
    the bound address, or the route to the group). ``max_unsent`` bounds the bytes ``send`` lets wait
    (default twice the maximum window). ``history(offset, length)`` serves receivers that
    resume below the send buffer (after a fail-over; see :class:`~smocast.apps.filehistory.FileHistory`
    and :class:`~smocast.smo.relay.StreamHistory`). Every :class:`~smocast.smo.config.ChannelConfig` and
    :class:`~smocast.smo.config.DropRules` field is a keyword (``min_receivers``,
    ``admission``, ``policy``/``window_policy``, ``cwnd_policy``, ``rtt_policy``,
    ``progress_timeout``, ``mss``...); policies may be strings such as ``"quorum:0.9"``.
    The channel is secure unless ``secure=False``: every packet is authenticated and
    encrypted, and receivers must pin this source's key (``security``: the key, an allow-list
    of receivers; default: this user's key, created on first use). Segments are then 34 bytes
    smaller unless ``mss`` is given. With ``pmtu``, the channel probes each receiver's path
    for larger datagrams (path MTU discovery, RFC 8899) up to the MTU of the interface it
    multicasts from, or ``max_mtu``: ``mss`` is then where segments start. Raises
    :class:`~smocast.aio.errors.NetworkError` (port in use, no multicast route),
    :class:`~smocast.core.errors.ConfigError` or a
    :class:`~smocast.secure.errors.KeyFileError` (an unsafe key file).
    """
    from smocast.aio.channel import AsyncChannel  # noqa: PLC0415  (a receiver never loads the source side)

    group_address = parse_address(group, "group")
    check_group(group_address)
    bind_address = parse_address(bind, "bind") if bind is not None else ("0.0.0.0", group_address[1])
    if config is None:
        options.setdefault("pacing_burst_segments", PACING_BURST_SEGMENTS)
    protection = source_security(secure, security)
    if protection is not None and "mss" not in options and (config is None or config.mss == DEFAULT_MSS):
        options["mss"] = DEFAULT_MSS - ENVELOPE_OVERHEAD
    if pmtu:
        options.update(_probe_options(group_address, interface, bind_address, max_mtu, protection is not None))
    elif max_mtu is not None:
        raise ConfigError("max_mtu caps path MTU discovery: it needs pmtu=True")
    cfg = channel_config(config, **options)
    channel = AsyncChannel(
        group_address,
        bind=bind_address,
        interface=interface,
        ttl=ttl,
        config=cfg,
        max_unsent=max_unsent,
        rng=rng,
        history=history,
        security=protection,
    )
    return Opening(channel._open)


def _probe_options(
    group: tuple[str, int], interface: str | None, bind: tuple[str, int], max_mtu: int | None, secure: bool
) -> ChannelOptions:
    """Path MTU discovery's ceiling (the interface's MTU, at most ``max_mtu``) and overhead."""
    from smocast.aio.netaddr import family_of, is_unspecified  # noqa: PLC0415
    from smocast.aio.sockets import interface_mtu  # noqa: PLC0415

    if max_mtu is not None and not MIN_MTU <= max_mtu <= MAX_MTU:
        raise ConfigError(f"max_mtu must be in {MIN_MTU}..{MAX_MTU}, got {max_mtu}")
    mtu = min(interface_mtu(group, interface or (None if is_unspecified(bind[0]) else bind[0])), MAX_MTU)
    headers = IPV6_UDP_OVERHEAD if family_of(group[0]) == socket.AF_INET6 else IPV4_UDP_OVERHEAD
    return {
        "pmtu_ceiling": mtu if max_mtu is None else min(mtu, max_mtu),
        "pmtu_overhead": headers + (ENVELOPE_OVERHEAD if secure else 0),
    }


def connect(
    server: AddressLike,
    group: AddressLike,
    *,
    source: str | None = None,
    interface: str | None = None,
    linger: float = DEFAULT_LINGER,
    idle_timeout: float | None = None,
    config: ReceiverConfig | None = None,
    rng: random.Random | None = None,
    secure: bool = True,
    security: ReceiverSecurity | None = None,
    trust: str | None = None,
    **options: Unpack[ReceiverOptions],
) -> Opening[AsyncReceiver]:
    """Subscribe to ``group`` and connect to the source listening at ``server`` (``host:port``).

    ``source`` is the channel's source address S for an SSM join (default: the server's
    address). ``interface`` is the interface to join on, by name (``eth0``) or address (default:
    the one that routes to the server). ``idle_timeout`` gives up when nothing arrives for that long (0:
    never; default: after a few of the heartbeats the source announces, 4 s for its usual 1 s). Every
    :class:`~smocast.smo.config.ReceiverConfig` field is a keyword (``timeout`` is
    ``connect_timeout``). The connection is secure unless ``secure=False``: the source must
    prove a key ``security`` trusts (default: the one pinned for it in this user's known
    sources; ``trust="SHA256:..."`` pins one key, as ``smocast recv --trust``). Raises
    :class:`~smocast.aio.errors.ConnectFailedError` (no answer, refused, a
    source key that is not trusted), :class:`~smocast.aio.errors.ResetError` (a late join
    refused), :class:`~smocast.aio.errors.NetworkError` or
    :class:`~smocast.core.errors.ConfigError` (no key pinned for the source).
    """
    server_address = parse_address(server, "server")
    group_address = parse_address(group, "group")
    check_group(group_address)
    cfg = receiver_config(config, **options)
    receiver = AsyncReceiver(
        server_address,
        group_address,
        source=source,
        interface=interface,
        config=cfg,
        linger=linger,
        idle_timeout=idle_timeout,
        rng=rng,
        security=receiver_security(secure, security, trust),
    )
    return Opening(receiver._open)


def source_security(secure: bool, security: SourceSecurity | None) -> SourceSecurity | None:
    if not secure:
        if security is not None:
            raise ConfigError("security settings were given with secure=False")
        return None
    if security is not None:
        return security
    from smocast.aio.source_security import SourceSecurity  # noqa: PLC0415  (loads no cryptography)

    return SourceSecurity()


def receiver_security(
    secure: bool, security: ReceiverSecurity | None, trust: str | None = None
) -> ReceiverSecurity | None:
    if not secure:
        if security is not None or trust is not None:
            raise ConfigError("security settings were given with secure=False")
        return None
    if security is not None:
        if trust is not None:
            raise ConfigError("give trust= or security=, not both")
        return security
    from smocast.aio.security import ReceiverSecurity  # noqa: PLC0415

    return ReceiverSecurity(trust=(trust,) if trust is not None else ())
