"""Every socket the runtime opens; the options it sets on them and the joins are in :mod:`smocast.aio.sockopts`.

* The source: one UDP socket bound to ``bind``. It receives SYNs and ACKs, sends unicast
  control and repairs, and sends to the group (TTL or hop limit, outgoing interface,
  loopback on).
* A receiver: a *connected* unicast socket to the source (an ephemeral port; the kernel
  then accepts only the source's datagrams and reports ICMP refusals), plus a socket bound
  to the group's address and port with ``SO_REUSEADDR`` and joined to the channel:
  source-specific (SSM) for groups in 232/8 and ``ff3x::/96``, any-source (ASM) otherwise.
  Each receiver has its own group socket, so several receivers on one host each get their
  own copy of every datagram (the paper's multicast-mapping table).
* An announcement listener (:func:`listener_socket`): a group socket joined any-source.

Both families: the group's address picks IPv4 or IPv6 (:mod:`smocast.aio.netaddr` has the
address rules). Failures raise :class:`~smocast.aio.errors.NetworkError` with a one-line
message; a half-built socket is closed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import time
from typing import NamedTuple

from smocast.aio.errors import NetworkError, network_error, os_error_message
from smocast.aio.netaddr import (
    ANY_V4,
    ANY_V6,
    canonical,
    check_group,
    family_of,
    format_address,
    host_interfaces,
    interface_for,
    ip_of,
    is_ssm,
    is_unspecified,
    sockaddr,
)
from smocast.aio.sockopts import (
    interface_index,
    join_v4,
    join_v6,
    multicast_sending,
    own_groups_only,
    probe_path_mtu,
    report_unreachable,
    route_mtu,
    set_multicast_interface,
    set_receive_buffer,
    set_send_buffer,
    share_port,
)
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError

__all__ = [
    "ReceiverSockets",
    "announcer_socket",
    "check_group",
    "free_udp_port",
    "host_interfaces",
    "interface_address",
    "is_ssm",
    "listener_socket",
    "loopback_multicast_works",
    "port_in_use",
    "receiver_sockets",
    "resolve",
    "source_socket",
]

RECEIVE_BUFFER = 4 << 20  # asked for on every receiving socket; 1 MiB or more avoids drops at high rates
SEND_BUFFER = 4 << 20
ANY = ANY_V4


class ReceiverSockets(NamedTuple):
    """A receiver's two sockets and what the kernel granted."""

    unicast: socket.socket
    group: socket.socket
    local: Address  # the unicast socket's address, as the source sees it
    interface: str  # the address of the interface the group was joined on
    ssm: bool
    receive_buffer: int  # bytes the kernel reports for the group socket's SO_RCVBUF


async def resolve(host: str, port: int, family: socket.AddressFamily | None = None) -> Address:
    """The address of ``host`` (receivers compare packet sources with it), in the cores' form.

    A literal stays as it is (an IPv6 link-local one keeps its zone, ``fe80::1%eth0``); a
    name resolves in ``family`` (the group's), or to IPv4 first, else IPv6.
    """
    if ip_of(host) is not None:
        return (host, port)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=family or 0, type=socket.SOCK_DGRAM)
    except OSError as exc:
        wanted = {socket.AF_INET: " for IPv4", socket.AF_INET6: " for IPv6"}.get(family, "") if family else ""
        raise NetworkError(f"unknown host {host!r}{wanted} ({getattr(exc, 'strerror', None) or exc})") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    if not infos:
        raise NetworkError(f"unknown host {host!r} (no address)")
    return canonical(infos[0][4])


def interface_address(interface: str, family: socket.AddressFamily = socket.AF_INET) -> str:
    """The address to use for ``interface`` in ``family``: a name (``eth0``, ``lo``) or an address of this host.

    Raises :class:`~smocast.core.errors.ConfigError` naming this host's interfaces when
    ``interface`` is neither.
    """
    if is_unspecified(interface):
        return ANY_V6 if family == socket.AF_INET6 else ANY_V4
    return interface_for(interface, family)[1]


def _udp_socket(family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


def _check_family(group: Address, other: str, what: str) -> None:
    if not is_unspecified(other) and ip_of(other) is not None and family_of(other) != family_of(group[0]):
        raise ConfigError(f"{what} {other} and the group {group[0]} are of different IP versions")


def source_socket(
    bind: Address, group: Address, interface: str | None, ttl: int, *, probe_mtu: bool = False
) -> socket.socket:
    """The source's socket, bound to ``bind``, ready to send to ``group`` (IPv4 or IPv6).

    ``probe_mtu``: it sends path MTU probes (:func:`~smocast.aio.sockopts.probe_path_mtu`: DF on
    every datagram, no cached path MTU in the way)."""
    check_group(group)
    family = family_of(group[0])
    _check_family(group, bind[0], "the bound address")
    if is_unspecified(bind[0]):
        bind = (ANY_V6 if family == socket.AF_INET6 else ANY_V4, bind[1])
    if interface is not None:
        interface = interface_address(interface, family)
    sock = _udp_socket(family)
    try:
        set_send_buffer(sock, SEND_BUFFER)
        set_receive_buffer(sock, RECEIVE_BUFFER)  # ACKs of many receivers
        multicast_sending(sock, ttl)
        report_unreachable(sock)
        if probe_mtu:
            probe_path_mtu(sock)
        interface = interface or (bind[0] if not is_unspecified(bind[0]) else None)
        if interface is not None:
            set_multicast_interface(sock, interface)
        try:
            sock.bind(sockaddr(bind))
        except OSError as exc:
            raise network_error(exc, f"cannot bind the source to {format_address(bind)}") from None
        _check_route(group, interface)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_route(group: Address, interface: str | None) -> None:
    """Fail now, not at the first send, when the kernel has no route to the group."""
    probe = _udp_socket(family_of(group[0]))
    try:
        if interface is not None:
            set_multicast_interface(probe, interface)
        probe.connect(sockaddr(group))
    except OSError as exc:
        raise network_error(exc, f"no multicast route to {group[0]}") from None
    finally:
        probe.close()


def interface_mtu(group: Address, interface: str | None) -> int:
    """The MTU of the interface the source multicasts to ``group`` from (``interface``: a name or
    an address, None: the route's): the ceiling of path MTU discovery."""
    family = family_of(group[0])
    probe = _udp_socket(family)
    try:
        if interface is not None:
            set_multicast_interface(probe, interface_address(interface, family))
        probe.connect(sockaddr(group))
        return route_mtu(probe)
    except OSError as exc:
        raise network_error(exc, f"no multicast route to {group[0]}") from None
    finally:
        probe.close()


def receiver_sockets(server: Address, group: Address, source: str, interface: str | None) -> ReceiverSockets:
    """A receiver's unicast socket (connected to ``server``) and its joined group socket.

    ``interface`` is a name (``eth0``) or an address of this host (see :func:`interface_address`).
    """
    check_group(group)
    family = family_of(group[0])
    _check_family(group, server[0], "the server")
    if interface is not None:
        interface = interface_address(interface, family)
    unicast = _udp_socket(family)
    try:
        set_receive_buffer(unicast, RECEIVE_BUFFER)  # unicast repairs
        try:
            unicast.bind(sockaddr((interface or (ANY_V6 if family == socket.AF_INET6 else ANY_V4), 0)))
            unicast.connect(sockaddr(server))
        except OSError as exc:
            raise network_error(exc, f"cannot reach the source at {format_address(server)}") from None
        local = canonical(unicast.getsockname())
        joined = _group_socket(group, source, interface or local[0])
    except BaseException:
        unicast.close()
        raise
    return ReceiverSockets(unicast, joined[0], local, interface or local[0], is_ssm(group[0]), joined[1])


def announcer_socket(group: Address, interface: str | None, ttl: int, bind_host: str | None) -> socket.socket:
    """A socket that sends to ``group`` (announcements) from ``bind_host`` (an ephemeral port)."""
    check_group(group)
    family = family_of(group[0])
    where = interface_address(interface, family) if interface is not None else None
    sock = _udp_socket(family)
    try:
        multicast_sending(sock, ttl)
        host = bind_host if bind_host is not None and not is_unspecified(bind_host) else None
        if host is not None and family_of(host) == family:
            where = where or host
            sock.bind(sockaddr((host, 0)))
        if where is not None:
            set_multicast_interface(sock, where)
        _check_route(group, where)
    except OSError as exc:
        sock.close()
        raise network_error(exc, f"cannot announce on {format_address(group)}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def listener_socket(group: Address, interface: str | None) -> socket.socket:
    """A socket joined any-source to ``group`` (announcements come from any source) on ``interface``."""
    check_group(group)
    family = family_of(group[0])
    where = interface_address(interface, family) if interface is not None else None
    return _group_socket(group, None, where)[0]


def _group_socket(group: Address, source: str | None, interface: str | None) -> tuple[socket.socket, int]:
    """A socket bound to ``group`` and joined: (``source``, G) when given and G is SSM, else G."""
    family = family_of(group[0])
    sock = _udp_socket(family)
    try:
        share_port(sock)  # one socket per receiver on a host
        granted = set_receive_buffer(sock, RECEIVE_BUFFER)
        own_groups_only(sock)
        index = interface_index(interface) if family == socket.AF_INET6 else 0
        _bind_group(sock, group, index)
        if family == socket.AF_INET6:
            join_v6(sock, group[0], source if is_ssm(group[0]) else None, index)
        else:
            join_v4(sock, group[0], source if is_ssm(group[0]) else None, interface or ANY_V4)
    except BaseException:
        sock.close()
        raise
    return sock, granted


def _bind_group(sock: socket.socket, group: Address, index: int) -> None:
    """Bind to the group's address, not the wildcard: no unicast or other groups' traffic."""
    try:
        sock.bind((group[0], group[1], 0, index) if sock.family == socket.AF_INET6 else group)
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = (
                f"; a source on this host bound to the wildcard address on port {group[1]} blocks it: bind that "
                f"source to one address (e.g. 127.0.0.1:{group[1]}) or use another group port"
            )
        message = os_error_message(exc, f"cannot bind the group port {group[1]}")
        raise NetworkError(message + hint, exc.errno) from None


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (for demos and tests)."""
    with socket.socket(family_of(host), socket.SOCK_DGRAM) as sock:
        sock.bind(sockaddr((host, 0)))
        return int(sock.getsockname()[1])


def port_in_use(address: Address) -> bool:
    """True when something is bound to ``address`` (a bind without SO_REUSEADDR fails)."""
    with socket.socket(family_of(address[0]), socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(sockaddr(address))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def loopback_multicast_works(group: str = "239.255.41.41", timeout: float = 0.5, interface: str = "127.0.0.1") -> bool:
    """Probe: does a datagram sent to ``group`` on ``interface`` come back on a joined socket?"""
    family = family_of(group)
    try:
        port = free_udp_port(ANY_V6 if family == socket.AF_INET6 else ANY_V4)
        receiver, _ = _group_socket((group, port), None, interface)
    except (NetworkError, ConfigError, OSError):
        return False
    sender = _udp_socket(family)
    try:
        set_multicast_interface(sender, interface)
        multicast_sending(sender, 1)
        sender.sendto(b"smocast-probe", (group, receiver.getsockname()[1]))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                if receiver.recv(64) == b"smocast-probe":
                    return True
            time.sleep(0.005)
        return False
    except (NetworkError, ConfigError, OSError):
        return False
    finally:
        sender.close()
        receiver.close()
