"""Addresses of both IP families: groups, SSM ranges, scopes, interfaces, and how they print.

An :data:`~smocast.core.datagram.Address` is ``(host, port)`` in both families. An IPv6
link-local host carries its zone in the text, ``fe80::1%eth0``, because the cores compare
addresses as they are: :func:`canonical` turns what the kernel reports (a 4-tuple with a
scope index) into that form, and :func:`sockaddr` turns it back into what ``bind``,
``connect`` and ``sendto`` need. Addresses print as ``host:port``, IPv6 as ``[host]:port``
(:func:`format_address`), the form the command line reads back.

Interfaces are named (``eth0``) or given by one of their addresses, in either family.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from smocast.core.datagram import Address
from smocast.core.errors import ConfigError

SIOCGIFADDR = 0x8915  # Linux: the IPv4 address of an interface, by name
IF_INET6 = Path("/proc/net/if_inet6")  # Linux: every IPv6 address, with its interface
SSM_V4 = ipaddress.IPv4Network("232.0.0.0/8")
ANY_V4 = "0.0.0.0"
ANY_V6 = "::"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def split_zone(host: str) -> tuple[str, str | None]:
    """``fe80::1%eth0`` -> ``("fe80::1", "eth0")``; a host without a zone -> ``(host, None)``."""
    address, percent, zone = host.partition("%")
    return address, (zone if percent else None)


def ip_of(host: str) -> IPAddress | None:
    """The address ``host`` names literally (a zone ignored), or None for a name."""
    try:
        return ipaddress.ip_address(split_zone(host)[0])
    except ValueError:
        return None


def family_of(host: str) -> socket.AddressFamily:
    """``AF_INET6`` for an IPv6 literal, else ``AF_INET`` (names resolve to IPv4 unless bracketed)."""
    ip = ip_of(host)
    return socket.AF_INET6 if ip is not None and ip.version == 6 else socket.AF_INET


def is_unspecified(host: str) -> bool:
    """``0.0.0.0``, ``::`` or empty: bound to every address."""
    ip = ip_of(host)
    return host == "" or (ip is not None and ip.is_unspecified)


def format_address(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    """``("10.0.0.1", 5000)`` -> ``10.0.0.1:5000``; IPv6 -> ``[ff3e::1]:5000``."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_group(group: Address) -> None:
    """Raise ConfigError unless ``group`` is an IPv4 or IPv6 multicast address with a port."""
    ip = ip_of(group[0])
    if ip is None:
        raise ConfigError(f"the group must be an IPv4 or IPv6 multicast address, got {group[0]!r}")
    if not ip.is_multicast:
        example = "ff00::/8, e.g. ff3e::1234 (SSM)" if ip.version == 6 else "224.0.0.0/4, e.g. 232.1.1.1 (SSM)"
        raise ConfigError(f"{group[0]} is not a multicast address (use {example})")
    if not 0 < group[1] < 65536:
        raise ConfigError(f"the group port must be in 1..65535, got {group[1]}")


def is_ssm(group: str) -> bool:
    """A source-specific group: IPv4 232.0.0.0/8, IPv6 ``ff3x::/96`` (RFC 4607)."""
    ip = ip_of(group)
    if ip is None:
        return False
    if ip.version == 4:
        return ip in SSM_V4
    packed = ip.packed
    return packed[0] == 0xFF and packed[1] >> 4 == 3 and packed[2:12] == bytes(10)


# --- the kernel's form ---------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone_name(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return str(index)


def canonical(raw: tuple[object, ...]) -> Address:
    """An address as the kernel reports it (``recvfrom``, ``getsockname``) in the cores' form.

    IPv4 ``(host, port)`` stays as it is; IPv6 ``(host, port, flow, scope)`` becomes
    ``(host, port)``, with ``%zone`` on the host when it has a scope (a link-local address).
    """
    host, port = str(raw[0]), int(raw[1])  # type: ignore[call-overload]
    if len(raw) == 4 and raw[3]:
        return (f"{host}%{_zone_name(int(raw[3]))}", port)  # type: ignore[call-overload]
    return (host, port)


def zone_index(zone: str | None) -> int:
    """The interface index of an IPv6 zone (``eth0`` or ``4``); 0 for none."""
    if not zone:
        return 0
    if zone.isdigit():
        return int(zone)
    try:
        return socket.if_nametoindex(zone)
    except OSError:
        raise ConfigError(
            f"no interface named {zone!r} (the zone of an IPv6 address); this host has: {interfaces_text()}"
        ) from None


def sockaddr(address: Address) -> tuple[str, int] | tuple[str, int, int, int]:
    """What ``bind``, ``connect`` and ``sendto`` take for ``address`` (IPv6 with its scope index)."""
    host, port = address
    if ":" not in host:
        return (host, port)
    bare, zone = split_zone(host)
    return (bare, port, 0, zone_index(zone))


# --- interfaces ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interface:
    """One network interface: its name, index and addresses (IPv4 at most one, as SIOCGIFADDR reports)."""

    name: str
    index: int
    ipv4: str | None
    ipv6: tuple[str, ...]

    def address(self, family: socket.AddressFamily) -> str | None:
        """An address of this interface in ``family`` (global IPv6 before link-local), or None."""
        if family == socket.AF_INET:
            return self.ipv4
        ranked = sorted(self.ipv6, key=lambda a: a.startswith("fe80"))
        return ranked[0] if ranked else None

    def describe(self) -> str:
        addresses = ([self.ipv4] if self.ipv4 else []) + list(self.ipv6)
        return f"{self.name} ({', '.join(addresses) or 'no address'})"


def host_interfaces() -> list[Interface]:
    """Every network interface of this host, in index order, with its IPv4 and IPv6 addresses."""
    v6 = _ipv6_addresses()
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for index, name in socket.if_nameindex():
            v4 = None
            with contextlib.suppress(OSError):
                reply = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
                v4 = socket.inet_ntoa(reply[20:24])
            found.append(Interface(name, index, v4, tuple(v6.get(name, ()))))
    return found


def _ipv6_addresses() -> dict[str, list[str]]:
    """Interface name -> its IPv6 addresses, from ``/proc/net/if_inet6`` (empty without IPv6)."""
    found: dict[str, list[str]] = {}
    try:
        lines = IF_INET6.read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) == 6:
            address = str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
            found.setdefault(fields[5], []).append(address)
    return found


def interfaces_text() -> str:
    """``lo (127.0.0.1, ::1), eth0 (192.0.2.2)``: for error messages that list what exists."""
    return ", ".join(i.describe() for i in host_interfaces())


def find_interface(interface: str) -> Interface:
    """The interface named ``interface`` (``eth0``), or the one holding that address (either family).

    Raises :class:`~smocast.core.errors.ConfigError` naming this host's interfaces otherwise.
    """
    ip = ip_of(interface)
    every = host_interfaces()
    for each in every:
        if ip is None and each.name == interface:
            return each
        if ip is not None and (str(ip) == each.ipv4 or str(ip) in each.ipv6):
            return each
    what = "no interface named" if ip is None else "no interface of this host has the address"
    raise ConfigError(f"{what} {interface!r}; this host has: {', '.join(i.describe() for i in every)}")


def interface_for(interface: str, family: socket.AddressFamily) -> tuple[Interface, str]:
    """The interface ``interface`` names and its address in ``family``; ConfigError if it has none."""
    found = find_interface(interface)
    ip = ip_of(interface)
    wanted = 6 if family == socket.AF_INET6 else 4
    address = split_zone(interface)[0] if ip is not None and ip.version == wanted else found.address(family)
    if address is None:
        version = "IPv6" if family == socket.AF_INET6 else "IPv4"
        raise ConfigError(f"the interface {found.name!r} has no {version} address; this host has: {interfaces_text()}")
    if family == socket.AF_INET6 and address.startswith("fe80"):
        address = f"{address}%{found.name}"
    return found, address
