"""What a testbed looks like right now, read from the kernel (no state is kept between runs).

Also the read-only probes: reachability by ICMP echo and the bridge's IGMP group table.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from smocast.testbed import shaping
from smocast.testbed.layout import Layout, owned_namespaces
from smocast.testbed.reorder import read_reorder
from smocast.testbed.runner import in_namespace, run


@dataclass(frozen=True, slots=True)
class HostStatus:
    """One host: its namespace, address and impairments. Rates are bits/s, None when unshaped."""

    index: int
    namespace: str
    address: str
    rate_bps: float | None
    inbound_rate_bps: float | None
    loss_per_mille: int
    dropped: int
    cut: bool
    reorder_per_mille: int = 0
    reordered: int = 0  # datagrams sent by the slow lane so far

    @property
    def loss(self) -> float:
        """The loss probability the kernel applies (a multiple of 1/1000)."""
        return self.loss_per_mille / shaping.LOSS_STEPS

    @property
    def reorder(self) -> float:
        """The share of the UDP towards the host that takes the slow lane (a multiple of 1/1000)."""
        return self.reorder_per_mille / shaping.LOSS_STEPS


@dataclass(frozen=True, slots=True)
class TestbedStatus:
    """The whole testbed of one prefix. ``up`` is False when none of its namespaces exist."""

    __test__ = False  # not a pytest test class, despite the name

    prefix: str
    switch: str | None
    hosts: list[HostStatus] = field(default_factory=list)
    groups: dict[str, list[int]] = field(default_factory=dict)
    strays: list[str] = field(default_factory=list)

    @property
    def up(self) -> bool:
        """Whether the switch and at least one host exist."""
        return self.switch is not None and bool(self.hosts)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of everything above, plus ``up`` and each host's ``loss`` and ``reorder``."""
        report = asdict(self)
        report["up"] = self.up
        for host, entry in zip(self.hosts, report["hosts"], strict=True):
            entry["loss"] = host.loss
            entry["reorder"] = host.reorder
        return report


def gather(layout: Layout) -> TestbedStatus:
    """Read the status of the testbed with ``layout``'s prefix from the kernel."""
    names = owned_namespaces(layout)
    if layout.switch not in names:
        return TestbedStatus(prefix=layout.prefix, switch=None, strays=names)
    hosts = sorted(i for i in (layout.host_index(name) for name in names) if i is not None)
    cut = shaping.read_cut(layout)
    groups = {group: sorted(members) for group, members in sorted(memberships(layout).items())}
    return TestbedStatus(
        prefix=layout.prefix, switch=layout.switch, hosts=[_host(layout, i, i in cut) for i in hosts], groups=groups
    )


def _host(layout: Layout, index: int, cut: bool) -> HostStatus:
    outbound = shaping.read_rate(layout, index)
    inbound = shaping.read_rate(layout, index, inbound=True)
    steps, dropped = shaping.read_loss(layout, index)
    reorder_steps, reordered = read_reorder(layout, index)
    return HostStatus(
        index=index,
        namespace=layout.host(index),
        address=layout.address(index),
        rate_bps=outbound.rate_bps if outbound else None,
        inbound_rate_bps=inbound.rate_bps if inbound else None,
        loss_per_mille=steps,
        dropped=dropped,
        cut=cut,
        reorder_per_mille=reorder_steps,
        reordered=reordered,
    )


# An ICMP echo from a raw socket, so no ``ping`` binary is needed. argv: address, timeout.
# Exits 0 on a matching reply, 1 on timeout.
_PING_SCRIPT = """\
import os, socket, struct, sys, time
dst, timeout = sys.argv[1], float(sys.argv[2])
ident = os.getpid() & 0xFFFF
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
header = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"smocast-ping"
packet = header[:2] + struct.pack("!H", checksum(header)) + header[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.sendto(packet, (dst, 0))
deadline = time.monotonic() + timeout
while (left := deadline - time.monotonic()) > 0:
    s.settimeout(left)
    try:
        data, (src, _) = s.recvfrom(2048)
    except TimeoutError:
        break
    ihl = (data[0] & 0x0F) * 4
    kind, _, _, rid = struct.unpack("!BBHH", data[ihl:ihl + 6])
    if src == dst and kind == 0 and rid == ident:
        sys.exit(0)
sys.exit(1)
"""


def ping(layout: Layout, source: int, target: int, timeout: float = 1.0) -> bool:
    """Whether host ``target`` answers one ICMP echo from host ``source`` within ``timeout`` seconds."""
    argv = [sys.executable, "-c", _PING_SCRIPT, layout.address(target), str(timeout)]
    return run(in_namespace(layout.host(source), argv), check=False).returncode == 0


def memberships(layout: Layout) -> dict[str, set[int]]:
    """The bridge's IGMP snooping table: group address -> host indexes whose port joined it.

    Only IPv4 groups learned from hosts are listed (not link-local 224.0.0.x, not the bridge itself).
    """
    out = run(["bridge", "-n", layout.switch, "-j", "mdb", "show"]).stdout.strip()
    groups: dict[str, set[int]] = {}
    for bridge in json.loads(out) if out else []:
        for entry in bridge.get("mdb", []):
            port, group = str(entry.get("port", "")), str(entry.get("grp", ""))
            if port[:1] == "p" and port[1:].isdigit() and "." in group:
                groups.setdefault(group, set()).add(int(port[1:]))
    return groups
