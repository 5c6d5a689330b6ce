"""Names and addresses of a testbed, all derived from its prefix (no state is stored anywhere).

A testbed with prefix ``smc`` consists of the namespace ``smc-sw`` holding the bridge
``br0`` with one port ``p<i>`` per host, and the namespaces ``smc-h0``, ``smc-h1``, ...
each holding ``lo`` and ``eth0``, the other end of its port's veth pair. Host ``i`` has
the address ``10.77.0.<i+1>`` (the /16 continues into ``10.77.1.x`` after host 253) and,
on a testbed built with IPv6, ``fd77::<i+1>`` (plus its link-local ``fe80::`` address).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

from smocast.testbed.runner import TestbedError, run

#: A prefix is short and plain, so ``<prefix>-`` cannot match namespaces of other tools by accident.
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9]{0,7}")
DEFAULT_PREFIX = "smc"

SUBNET = ipaddress.IPv4Network("10.77.0.0/16")
SUBNET6 = ipaddress.IPv6Network("fd77::/64")
MULTICAST = "224.0.0.0/4"
BRIDGE = "br0"
HOST_INTERFACE = "eth0"

#: A Linux bridge takes at most 1024 ports; keep a margin.
MAX_HOSTS = 1000


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is 1-8 characters of ``[a-z][a-z0-9]*``; raise TestbedError otherwise."""
    if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
        raise TestbedError(
            f"bad testbed prefix {prefix!r}: use 1-8 characters, a lowercase letter "
            "followed by lowercase letters or digits (e.g. 'smc')"
        )
    return prefix


@dataclass(frozen=True, slots=True)
class Layout:
    """Every name and address of the testbed with one prefix. Build it with ``Layout(prefix)``."""

    prefix: str

    def __post_init__(self) -> None:
        validate_prefix(self.prefix)

    @property
    def switch(self) -> str:
        """The namespace that holds the bridge."""
        return f"{self.prefix}-sw"

    def host(self, index: int) -> str:
        """The namespace of host ``index`` (host 0 is the sender by convention)."""
        return f"{self.prefix}-h{index}"

    @staticmethod
    def port(index: int) -> str:
        """The bridge port (in the switch namespace) that leads to host ``index``."""
        return f"p{index}"

    @staticmethod
    def address(index: int) -> str:
        """The IPv4 address of host ``index``, without the prefix length."""
        if not 0 <= index < MAX_HOSTS:
            raise TestbedError(f"no host {index}: host indexes run from 0 to {MAX_HOSTS - 1}")
        return str(SUBNET.network_address + index + 1)

    @staticmethod
    def address6(index: int) -> str:
        """The IPv6 address of host ``index`` (on a testbed built with IPv6), without the prefix length."""
        Layout.address(index)  # the same range check
        return str(SUBNET6.network_address + index + 1)

    @staticmethod
    def cidr(index: int) -> str:
        """The address of host ``index`` with the subnet's prefix length, as ``ip addr add`` wants it."""
        return f"{Layout.address(index)}/{SUBNET.prefixlen}"

    def owns(self, namespace: str) -> bool:
        """Whether ``namespace`` is one this testbed creates (``<prefix>-sw`` or ``<prefix>-h<n>``)."""
        return re.fullmatch(rf"{self.prefix}-(sw|h(0|[1-9][0-9]*))", namespace) is not None

    def host_index(self, namespace: str) -> int | None:
        """The host index of one of this testbed's namespaces, or None for the switch."""
        if not self.owns(namespace) or namespace == self.switch:
            return None
        return int(namespace.rsplit("-h", 1)[1])

    def resolve(self, ref: str | int) -> int:
        """A host index from ``2``, ``"2"``, ``"h2"`` or ``"smc-h2"``; raise TestbedError otherwise."""
        text = str(ref)
        for form in (r"(\d+)", r"h(\d+)", rf"{self.prefix}-h(\d+)"):
            match = re.fullmatch(form, text)
            if match:
                return int(match.group(1))
        raise TestbedError(f"no host {text!r}: name a host by index (2), short name (h2) or namespace ({self.host(2)})")


def check_host_count(hosts: int) -> None:
    """Raise TestbedError unless ``1 <= hosts <= MAX_HOSTS``."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise TestbedError(f"a testbed has 1 to {MAX_HOSTS} hosts (the bridge's port limit), not {hosts}")


def list_namespaces() -> list[str]:
    """The names of all named network namespaces (``ip netns list``)."""
    out = run(["ip", "-j", "netns", "list"]).stdout.strip()
    return [entry["name"] for entry in json.loads(out)] if out else []


def owned_namespaces(layout: Layout) -> list[str]:
    """This testbed's namespaces that exist now: the switch first, then hosts by index."""
    names = [name for name in list_namespaces() if layout.owns(name)]
    return sorted(names, key=lambda name: -1 if name == layout.switch else (layout.host_index(name) or 0))
