"""Every socket the runtime opens, and every ``setsockopt`` it makes (all of them live here).

* The source: one UDP socket bound to ``bind``. It receives SYNs and ACKs, sends unicast
  control and repairs, and sends to the group (TTL, outgoing interface, loopback on).
* A receiver: a *connected* unicast socket to the source (an ephemeral port; the kernel
  then accepts only the source's datagrams and reports ICMP refusals), plus a socket bound
  to the group's address and port with ``SO_REUSEADDR`` and joined to the channel: SSM
  ``IP_ADD_SOURCE_MEMBERSHIP`` for groups in 232/8, ASM ``IP_ADD_MEMBERSHIP`` otherwise.
  Each receiver has its own group socket, so several receivers on one host each get their
  own copy of every datagram (the paper's multicast-mapping table).

Failures raise :class:`~smocast.aio.errors.NetworkError` with a one-line message; a
half-built socket is closed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import ipaddress
import socket
import struct
import time
from dataclasses import dataclass

from smocast.aio.errors import NetworkError, network_error, os_error_message
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError

# Linux values, for Python builds whose socket module lacks the names.
IP_ADD_SOURCE_MEMBERSHIP: int = getattr(socket, "IP_ADD_SOURCE_MEMBERSHIP", 39)
IP_MULTICAST_ALL: int = getattr(socket, "IP_MULTICAST_ALL", 49)
SO_SNDBUFFORCE: int = getattr(socket, "SO_SNDBUFFORCE", 32)
SO_RCVBUFFORCE: int = getattr(socket, "SO_RCVBUFFORCE", 33)
IP_RECVERR: int = getattr(socket, "IP_RECVERR", 11)
MSG_ERRQUEUE: int = getattr(socket, "MSG_ERRQUEUE", 0x2000)
SO_EE_ORIGIN_ICMP = 2  # <linux/errqueue.h>: the error came in an ICMP message
ICMP_DEST_UNREACH, ICMP_PORT_UNREACH = 3, 3
_EXTENDED_ERR = struct.Struct("=IBBBB")  # struct sock_extended_err: ee_errno, ee_origin, ee_type, ee_code, ee_pad
ERROR_QUEUE_BATCH = 64  # error-queue entries read per call

SIOCGIFADDR = 0x8915  # Linux: the IPv4 address of an interface, by name
RECEIVE_BUFFER = 4 << 20  # asked for on every receiving socket; 1 MiB or more avoids drops at high rates
SEND_BUFFER = 4 << 20
SSM_RANGE = ipaddress.IPv4Network("232.0.0.0/8")
ANY = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class ReceiverSockets:
    """A receiver's two sockets and what the kernel granted."""

    unicast: socket.socket
    group: socket.socket
    local: Address  # the unicast socket's address, as the source sees it
    interface: str  # the address of the interface the group was joined on
    ssm: bool
    receive_buffer: int  # bytes the kernel reports for the group socket's SO_RCVBUF


def check_group(group: Address) -> None:
    """Raise ConfigError unless ``group`` is an IPv4 multicast address with a port."""
    try:
        address = ipaddress.IPv4Address(group[0])
    except ValueError:
        raise ConfigError(f"the group must be an IPv4 multicast address, got {group[0]!r}") from None
    if not address.is_multicast:
        raise ConfigError(f"{group[0]} is not a multicast address (use 224.0.0.0/4, e.g. 232.1.1.1)")
    if not 0 < group[1] < 65536:
        raise ConfigError(f"the group port must be in 1..65535, got {group[1]}")


def is_ssm(group: str) -> bool:
    return ipaddress.IPv4Address(group) in SSM_RANGE


async def resolve(host: str, port: int) -> Address:
    """The IPv4 address of ``host`` (receivers compare packet sources with it)."""
    try:
        ipaddress.IPv4Address(host)
        return (host, port)
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise NetworkError(f"unknown host {host!r} ({getattr(exc, 'strerror', None) or exc})") from None
    if not infos:
        raise NetworkError(f"unknown host {host!r} (no IPv4 address)")
    return (str(infos[0][4][0]), port)


def host_interfaces() -> list[tuple[str, str | None]]:
    """Every network interface of this host: ``(name, IPv4 address or None)``, in index order."""
    found: list[tuple[str, str | None]] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                request = struct.pack("256s", name.encode()[:15])
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, request)
                found.append((name, socket.inet_ntoa(reply[20:24])))
            except OSError:
                found.append((name, None))
    return found


def _interfaces_text() -> str:
    return ", ".join(f"{name} ({address or 'no IPv4 address'})" for name, address in host_interfaces())


def interface_address(interface: str) -> str:
    """The IPv4 address to use for ``interface``: a name (``eth0``, ``lo``) or an address of this host.

    Raises :class:`~smocast.core.errors.ConfigError` naming this host's interfaces when
    ``interface`` is neither.
    """
    try:
        ipaddress.IPv4Address(interface)
    except ValueError:
        return _address_of_name(interface)
    if interface != ANY:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((interface, 0))
            except OSError as exc:
                if exc.errno != errno.EADDRNOTAVAIL:
                    raise network_error(exc, f"cannot use the interface address {interface}") from None
                raise ConfigError(
                    f"{interface} is not an address of this host; its interfaces: {_interfaces_text()}"
                ) from None
    return interface


def _address_of_name(name: str) -> str:
    interfaces = dict(host_interfaces())
    if name not in interfaces:
        raise ConfigError(f"no interface named {name!r}; this host has: {_interfaces_text()}")
    address = interfaces[name]
    if address is None:
        raise ConfigError(f"the interface {name!r} has no IPv4 address; this host has: {_interfaces_text()}")
    return address


def _set_buffer(sock: socket.socket, option: int, forced: int, size: int) -> int:
    """Ask for ``size`` bytes; past the sysctl limit try the root-only FORCE variant."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, option, size)
    if sock.getsockopt(socket.SOL_SOCKET, option) < size:  # Linux reports double what it grants
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, forced, size)
    return sock.getsockopt(socket.SOL_SOCKET, option)


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


def _set_multicast_interface(sock: socket.socket, interface: str) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface))
    except OSError as exc:
        raise network_error(exc, f"cannot send multicast from interface {interface}") from None


def source_socket(bind: Address, group: Address, interface: str | None, ttl: int) -> socket.socket:
    """The source's socket, bound to ``bind``, ready to send to ``group``."""
    check_group(group)
    if interface is not None:
        interface = interface_address(interface)
    sock = _udp_socket()
    try:
        _set_buffer(sock, socket.SO_SNDBUF, SO_SNDBUFFORCE, SEND_BUFFER)
        _set_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, RECEIVE_BUFFER)  # ACKs of many receivers
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        with contextlib.suppress(OSError):  # only groups this socket joined (none): not its own data
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        report_unreachable(sock)
        interface = interface or (bind[0] if bind[0] not in (ANY, "") else None)
        if interface is not None:
            _set_multicast_interface(sock, interface)
        try:
            sock.bind(bind)
        except OSError as exc:
            raise network_error(exc, f"cannot bind the source to {bind[0]}:{bind[1]}") from None
        _check_route(group, interface)
    except BaseException:
        sock.close()
        raise
    return sock


def report_unreachable(sock: socket.socket) -> None:
    """Ask for ICMP errors (a receiver gone) on ``sock``'s error queue, with the address they name."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def unreachable_addresses(sock: socket.socket) -> tuple[list[Address], int]:
    """Drain ``sock``'s error queue (``IP_RECVERR``): the addresses an ICMP port unreachable named
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
            if level != socket.IPPROTO_IP or kind != IP_RECVERR or len(data) < _EXTENDED_ERR.size:
                continue
            _, origin, icmp_type, icmp_code, _ = _EXTENDED_ERR.unpack_from(data)
            if (origin, icmp_type, icmp_code) == (SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH):
                found.append((str(address[0]), int(address[1])))
    return found, read


def _check_route(group: Address, interface: str | None) -> None:
    """Fail now, not at the first send, when the kernel has no route to the group."""
    probe = _udp_socket()
    try:
        if interface is not None:
            _set_multicast_interface(probe, interface)
        probe.connect(group)
    except OSError as exc:
        raise network_error(exc, f"no multicast route to {group[0]}") from None
    finally:
        probe.close()


def receiver_sockets(server: Address, group: Address, source: str, interface: str | None) -> ReceiverSockets:
    """A receiver's unicast socket (connected to ``server``) and its joined group socket.

    ``interface`` is a name (``eth0``) or an address of this host (see :func:`interface_address`).
    """
    check_group(group)
    if interface is not None:
        interface = interface_address(interface)
    unicast = _udp_socket()
    try:
        _set_buffer(unicast, socket.SO_RCVBUF, SO_RCVBUFFORCE, RECEIVE_BUFFER)  # unicast repairs
        try:
            unicast.bind((interface or ANY, 0))
            unicast.connect(server)
        except OSError as exc:
            raise network_error(exc, f"cannot reach the source at {server[0]}:{server[1]}") from None
        local = unicast.getsockname()
        joined = _group_socket(group, source, interface or local[0])
    except BaseException:
        unicast.close()
        raise
    return ReceiverSockets(unicast, joined[0], (local[0], local[1]), interface or local[0], is_ssm(group[0]), joined[1])


def _group_socket(group: Address, source: str, interface: str) -> tuple[socket.socket, int]:
    sock = _udp_socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # one socket per receiver on a host
        granted = _set_buffer(sock, socket.SO_RCVBUF, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        try:
            sock.bind(group)  # the group address, not 0.0.0.0: no unicast or other groups' traffic
        except OSError as exc:
            hint = ""
            if exc.errno == errno.EADDRINUSE:
                hint = (
                    f"; a source on this host bound to 0.0.0.0:{group[1]} blocks it: bind that source to "
                    f"one address (e.g. 127.0.0.1:{group[1]}) or use another group port"
                )
            message = os_error_message(exc, f"cannot bind the group port {group[1]}")
            raise NetworkError(message + hint, exc.errno) from None
        _join(sock, group[0], source, interface)
    except BaseException:
        sock.close()
        raise
    return sock, granted


def _join(sock: socket.socket, group: str, source: str, interface: str) -> None:
    """Subscribe ``sock`` to the channel: (S, G) for SSM groups, G otherwise."""
    try:
        if is_ssm(group):
            mreq = socket.inet_aton(group) + socket.inet_aton(interface) + socket.inet_aton(source)
            sock.setsockopt(socket.IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, mreq)
        else:
            mreq = socket.inet_aton(group) + socket.inet_aton(interface)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    except OSError as exc:
        raise network_error(exc, f"cannot join {group} on interface {interface}") from None


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago (for demos and tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(address: Address) -> bool:
    """True when something is bound to ``address`` (a bind without SO_REUSEADDR fails)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def loopback_multicast_works(group: str = "239.255.41.41", timeout: float = 0.5) -> bool:
    """Probe: does a datagram sent to ``group`` on 127.0.0.1 come back on a joined socket?"""
    try:
        receiver, _ = _group_socket((group, free_udp_port(ANY)), "127.0.0.1", "127.0.0.1")
    except (NetworkError, OSError):
        return False
    sender = _udp_socket()
    try:
        _set_multicast_interface(sender, "127.0.0.1")
        sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        sender.sendto(b"smocast-probe", (group, receiver.getsockname()[1]))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                if receiver.recv(64) == b"smocast-probe":
                    return True
            time.sleep(0.005)
        return False
    except (NetworkError, OSError):
        return False
    finally:
        sender.close()
        receiver.close()
