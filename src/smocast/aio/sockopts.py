"""Every socket option the runtime sets, and the group joins (all ``setsockopt`` calls live here).

:mod:`smocast.aio.sockets` opens and binds the sockets; it asks this module for:

* buffers (:func:`set_send_buffer`, :func:`set_receive_buffer`: the root-only ``*FORCE``
  variants past the sysctl limit);
* multicast sending (:func:`multicast_sending`: TTL or hop limit, loopback on;
  :func:`set_multicast_interface`), and a receiving socket that takes only the groups it
  joined (:func:`own_groups_only`, ``IP_MULTICAST_ALL`` 0);
* membership: IPv4 (S, G) with ``IP_ADD_SOURCE_MEMBERSHIP`` or G with ``IP_ADD_MEMBERSHIP``
  (:func:`join_v4`); IPv6 with ``MCAST_JOIN_SOURCE_GROUP`` or ``IPV6_JOIN_GROUP``
  (:func:`join_v6`);
* ICMP errors on the error queue (:func:`report_unreachable`, read by
  :func:`unreachable_addresses`: the driver learns which receivers are gone).

Failures that matter raise :class:`~smocast.aio.errors.NetworkError` with a one-line message;
options that only help (buffers, ``*_MULTICAST_ALL``, ``*_RECVERR``) are best effort.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from smocast.aio.errors import network_error
from smocast.aio.netaddr import canonical, find_interface, is_unspecified, split_zone
from smocast.core.datagram import Address

# Linux values, for Python builds whose socket module lacks the names.
IP_ADD_SOURCE_MEMBERSHIP: int = getattr(socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
IP_MULTICAST_ALL: int = getattr(socket, "IP_MULTICAST_ALL", 49)
IPV6_MULTICAST_ALL: int = getattr(socket, "IPV6_MULTICAST_ALL", 29)
MCAST_JOIN_SOURCE_GROUP: int = getattr(socket, "MCAST_JOIN_SOURCE_GROUP", 46)
SO_SNDBUFFORCE: int = getattr(socket, "SO_SNDBUFFORCE", 32)
SO_RCVBUFFORCE: int = getattr(socket, "SO_RCVBUFFORCE", 33)
IP_RECVERR: int = getattr(socket, "IP_RECVERR", 11)
MSG_ERRQUEUE: int = getattr(socket, "MSG_ERRQUEUE", 0x2000)
IPV6_RECVERR: int = getattr(socket, "IPV6_RECVERR", 25)
IP_MTU_DISCOVER: int = getattr(socket, "IP_MTU_DISCOVER", 10)
IPV6_MTU_DISCOVER: int = getattr(socket, "IPV6_MTU_DISCOVER", 23)
IP_PMTUDISC_PROBE: int = getattr(socket, "IP_PMTUDISC_PROBE", 3)
IPV6_PMTUDISC_PROBE: int = getattr(socket, "IPV6_PMTUDISC_PROBE", 3)
IP_MTU: int = getattr(socket, "IP_MTU", 14)
IPV6_MTU: int = getattr(socket, "IPV6_MTU", 24)
SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6 = 2, 3  # <linux/errqueue.h>: the error came in an ICMP (ICMPv6) message
ICMP_DEST_UNREACH, ICMP_PORT_UNREACH = 3, 3
ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT = 1, 4
_PORT_UNREACHABLE = {
    (socket.IPPROTO_IP, IP_RECVERR): (SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH),
    (socket.IPPROTO_IPV6, IPV6_RECVERR): (SO_EE_ORIGIN_ICMP6, ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT),
}
_EXTENDED_ERR = struct.Struct("=IBBBB")  # struct sock_extended_err: ee_errno, ee_origin, ee_type, ee_code, ee_pad
ERROR_QUEUE_BATCH = 64  # error-queue entries read per call


def set_send_buffer(sock: socket.socket, size: int) -> int:
    """Ask for ``size`` bytes of ``SO_SNDBUF``; the bytes the kernel reports."""
    return _set_buffer(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, size)


def set_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for ``size`` bytes of ``SO_RCVBUF``; the bytes the kernel reports (Linux: double what it grants)."""
    return _set_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, size)


def _set_buffer(sock: socket.socket, option: int, forced: int, size: int) -> int:
    """Ask for ``size`` bytes; past the sysctl limit try the root-only FORCE variant."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, option, size)
    if sock.getsockopt(socket.SOL_SOCKET, option) < size:  # Linux reports double what it grants
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, forced, size)
    return sock.getsockopt(socket.SOL_SOCKET, option)


def probe_path_mtu(sock: socket.socket) -> None:
    """Path MTU discovery in user space: every datagram leaves with DF set (never fragmented on
    the way), and the kernel refuses none for a path MTU it cached (``*_PMTUDISC_PROBE``), so a
    probe larger than a stale cached value still goes out; only the interface's MTU bounds it."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
    except OSError as exc:
        raise network_error(exc, "cannot set the socket to probe the path MTU") from None


def route_mtu(sock: socket.socket) -> int:
    """The MTU of the route of a connected socket: its interface's (or a smaller cached path MTU)."""
    if sock.family == socket.AF_INET6:
        return sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU)
    return sock.getsockopt(socket.IPPROTO_IP, IP_MTU)


def interface_index(interface: str | None) -> int:
    """The index of an IPv6 interface (a name, an address, a zoned address); 0 lets the kernel route."""
    if interface is None or is_unspecified(interface):
        return 0
    host, zone = split_zone(interface)
    if zone:
        return find_interface(zone).index
    return find_interface(host).index


def set_multicast_interface(sock: socket.socket, interface: str) -> None:
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, interface_index(interface))
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    except OSError as exc:
        raise network_error(exc, f"cannot send multicast from interface {interface}") from None


def multicast_sending(sock: socket.socket, ttl: int) -> None:
    """Hop limit, loopback to this host's receivers, and no other groups' traffic on this socket."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        with contextlib.suppress(OSError):  # only groups this socket joined (none): not its own data
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)


def own_groups_only(sock: socket.socket) -> None:
    """A receiving socket gets only the groups it joined, not every group this host joined."""
    with contextlib.suppress(OSError):
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)


def share_port(sock: socket.socket) -> None:
    """``SO_REUSEADDR``: several receivers on one host bind the same group and port."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)


def report_unreachable(sock: socket.socket) -> None:
    """Ask for ICMP (or ICMPv6) errors, a receiver gone, on ``sock``'s error queue, with the address they name."""
    with contextlib.suppress(OSError):
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def unreachable_addresses(sock: socket.socket) -> tuple[list[Address], int]:
    """Drain ``sock``'s error queue (``IP_RECVERR``/``IPV6_RECVERR``): the addresses an ICMP port unreachable named
    (nothing listens there any more), and how many entries were read in all.

    The kernel reports such an error once through a failing ``sendto``/``recvfrom`` (usually
    ``ECONNREFUSED``, about an earlier datagram) and keeps the details here; read them then, and
    whenever the socket polls readable with nothing to read.
    """
    found: list[Address] = []
    read = 0
    while read < ERROR_QUEUE_BATCH:
        try:
            _, ancillary, _, address = sock.recvmsg(0, 512, MSG_ERRQUEUE)
        except OSError:  # empty (EAGAIN), or no error queue here
            break
        read += 1
        for level, kind, data in ancillary:
            expected = _PORT_UNREACHABLE.get((level, kind))
            if expected is None or len(data) < _EXTENDED_ERR.size:
                continue
            _, origin, icmp_type, icmp_code, _ = _EXTENDED_ERR.unpack_from(data)
            if (origin, icmp_type, icmp_code) == expected:
                found.append(canonical(address))
    return found, read


def join_v4(sock: socket.socket, group: str, source: str | None, interface: str) -> None:
    """Subscribe an IPv4 ``sock`` to the channel: (S, G) with a source, G otherwise."""
    try:
        if source is not None:
            mreq = socket.inet_aton(group) + socket.inet_aton(interface) + socket.inet_aton(source)
            sock.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq)
        else:
            mreq = socket.inet_aton(group) + socket.inet_aton(interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as exc:
        raise network_error(exc, f"cannot join {group} on interface {interface}") from None


def _sockaddr_in6(address: str, scope: int = 0) -> bytes:
    """A ``struct sockaddr_in6`` padded to ``sockaddr_storage`` (128 bytes), port 0."""
    packed = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", 0, 0)
    packed += socket.inet_pton(socket.AF_INET6, address) + struct.pack("=I", scope)
    return packed.ljust(128, b"\0")


def join_v6(sock: socket.socket, group: str, source: str | None, index: int) -> None:
    """Subscribe an IPv6 ``sock``: ``MCAST_JOIN_SOURCE_GROUP`` with a source, ``IPV6_JOIN_GROUP`` otherwise."""
    where = _zone_text(index)
    try:
        if source is not None:
            host, zone = split_zone(source)
            scope = interface_index(f"::%{zone}") if zone else 0
            head = struct.pack("=I", index)
            head += bytes(-len(head) % struct.calcsize("P"))  # gsr_group is aligned like a pointer
            request = head + _sockaddr_in6(group) + _sockaddr_in6(host, scope)
            sock.setsockopt(socket.IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP, request)
        else:
            request = socket.inet_pton(socket.AF_INET6, group) + struct.pack("=I", index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, request)
    except OSError as exc:
        raise network_error(exc, f"cannot join {group} on {where}") from None


def _zone_text(index: int) -> str:
    if not index:
        return "the interface routing to it"
    try:
        return f"interface {socket.if_indextoname(index)}"
    except OSError:
        return f"interface {index}"
