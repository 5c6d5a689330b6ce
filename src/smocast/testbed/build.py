"""Building and tearing down the namespaces, the bridge and the veth pairs.

``build`` makes a complete, unshaped testbed; ``teardown`` removes everything whose name
belongs to the prefix, whether or not this process built it. Shaping (rate, loss, cut) lives
in :mod:`smocast.testbed.shaping`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from smocast.testbed.layout import BRIDGE, HOST_INTERFACE, MULTICAST, SUBNET6, Layout, owned_namespaces
from smocast.testbed.runner import CommandFailed, TestbedError, ip_batch, run, write_sysctls

#: The bridge's IGMP querier answers within this many centiseconds. The kernel treats the
#: querier as absent (and floods all multicast to all ports) for one response interval after
#: it is switched on, so a short interval makes snooping effective about 0.5 s after ``up``.
QUERY_RESPONSE_INTERVAL_CS = 50

#: IGMPv3 everywhere: the bridge queries with v3 and hosts never fall back to v1/v2, so
#: source-specific joins (IP_ADD_SOURCE_MEMBERSHIP) reach the bridge as (S,G) entries.
IGMP_VERSION = 3
#: MLDv2, IPv6's IGMPv3: source-specific joins (MCAST_JOIN_SOURCE_GROUP) as (S,G) entries.
MLD_VERSION = 2


def create_namespaces(layout: Layout, hosts: int, ipv6: bool = False) -> None:
    """Create the switch namespace and ``hosts`` host namespaces, with defaults for interfaces to come.

    The defaults are set before any veth exists, so every ``eth0`` and bridge port is born
    with them: on hosts, IGMPv3 only, and IPv6 either off (no router solicitations, DAD or
    MLD in captures and counters) or, with ``ipv6``, on with MLDv2 and no duplicate address
    detection (addresses usable at once).
    """
    names = [layout.switch, *(layout.host(i) for i in range(hosts))]
    run(["ip", "-batch", "-"], stdin="".join(f"netns add {name}\n" for name in names))
    if ipv6:
        family = {
            "net.ipv6.conf.all.accept_dad": "0",
            "net.ipv6.conf.default.accept_dad": "0",
            "net.ipv6.conf.default.router_solicitations": "0",
        }
        host_family = family | {"net.ipv6.conf.default.force_mld_version": str(MLD_VERSION)}
    else:
        family = host_family = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
    write_sysctls(layout.switch, family)
    for i in range(hosts):
        write_sysctls(layout.host(i), host_family | {"net.ipv4.conf.default.force_igmp_version": str(IGMP_VERSION)})


def build_switch(layout: Layout, hosts: int, ipv6: bool = False) -> float:
    """Create the bridge with IGMP snooping and querier, and one veth pair per host.

    Each pair is created from inside the switch namespace with its far end placed straight
    into the host's namespace, so no interface ever appears in the root namespace. Returns
    the ``time.monotonic()`` at which the querier was on; pass it to :func:`wait_for_querier`.
    """
    lines = [
        "link set lo up",
        f"link add {BRIDGE} type bridge mcast_snooping 1 mcast_igmp_version {IGMP_VERSION} "
        + (f"mcast_mld_version {MLD_VERSION} " if ipv6 else "")
        + f"mcast_query_response_interval {QUERY_RESPONSE_INTERVAL_CS}",
        # A separate step: the querier's start-up delay is one response interval as set *before*.
        f"link set {BRIDGE} type bridge mcast_querier 1",
    ]
    for i in range(hosts):
        port = layout.port(i)
        lines += [
            f"link add {port} type veth peer name {HOST_INTERFACE} netns {layout.host(i)}",
            f"link set {port} master {BRIDGE}",
            f"link set {port} up",
        ]
    lines.append(f"link set {BRIDGE} up")
    ip_batch(layout.switch, lines)
    return time.monotonic()


def configure_host(layout: Layout, index: int, ipv6: bool = False) -> None:
    """Address host ``index``, bring up ``lo`` and ``eth0``, route multicast out of ``eth0``.

    With ``ipv6`` the host also gets ``fd77::<index+1>/64`` (the kernel routes ``ff00::/8``
    out of ``eth0`` by itself). Linux does not loop IPv6 multicast back through ``lo``: a
    source and receivers on one host use ``eth0``, whose group datagrams the kernel loops
    back to local members.
    """
    namespace = layout.host(index)
    lines = [
        "link set lo up",
        f"addr add {layout.cidr(index)} dev {HOST_INTERFACE}",
        f"link set {HOST_INTERFACE} up",
        f"route add {MULTICAST} dev {HOST_INTERFACE}",
    ]
    if ipv6:
        lines += [
            f"addr add {layout.address6(index)}/{SUBNET6.prefixlen} dev {HOST_INTERFACE} nodad",
        ]
    ip_batch(namespace, lines)


def set_mtu(layout: Layout, hosts: int, mtu: int) -> None:
    """Give every link of the testbed the MTU ``mtu``: each host's ``eth0`` and each bridge port.

    The bridge takes the smallest MTU of its ports, so it follows. Veths accept 68..65535.
    """
    if not 68 <= mtu <= 65535:
        raise TestbedError(f"an MTU must be in 68..65535, got {mtu}")
    ip_batch(layout.switch, [f"link set {layout.port(i)} mtu {mtu}" for i in range(hosts)])
    for i in range(hosts):
        ip_batch(layout.host(i), [f"link set {HOST_INTERFACE} mtu {mtu}"])


def wait_for_querier(querier_on: float) -> None:
    """Sleep until the bridge's own querier counts as present, so snooping stops flooding.

    ``querier_on`` is what :func:`build_switch` returned; configure the hosts in between.
    """
    ready = querier_on + QUERY_RESPONSE_INTERVAL_CS / 100 + 0.05
    time.sleep(max(0.0, ready - time.monotonic()))


def teardown(layout: Layout) -> list[str]:
    """Delete every namespace of this prefix, killing processes left inside them first.

    Deleting a namespace removes its veths, bridge, qdiscs and nftables tables with it.
    Safe to call any number of times and after a crash. Returns the namespaces deleted.
    """
    names = owned_namespaces(layout)
    for name in names:
        kill_processes(name)
    failures: list[CommandFailed] = []
    for name in names:
        try:
            run(["ip", "netns", "delete", name])
        except CommandFailed as exc:
            failures.append(exc)
    left = owned_namespaces(layout)
    if left:
        detail = f": {failures[0]}" if failures else ""
        raise TestbedError(f"could not delete {', '.join(left)}{detail}")
    return names


def kill_processes(namespace: str) -> None:
    """SIGKILL the processes running in ``namespace`` (started there by ``exec``/``popen``).

    A process left inside would keep the namespace, and its interfaces, alive after deletion.
    """
    out = run(["ip", "netns", "pids", namespace], check=False).stdout
    for pid in (int(word) for word in out.split() if word.isdigit()):
        if pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
