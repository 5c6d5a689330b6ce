"""Impairments of a running testbed: rate limits (tc tbf), random loss and cut-off hosts (nftables).

Each setter replaces the previous setting of the same kind on the same host, and each has a
reader that reports what the kernel actually holds, so ``status`` works without stored state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.core.units import parse_rate
from smocast.testbed.layout import HOST_INTERFACE, Layout
from smocast.testbed.runner import TestbedError, in_namespace, ip_batch, nft_apply, run

#: Token bucket depth: 32 KiB, or 1 ms of the rate if that is larger (fast links need more).
MIN_BURST = 32 * 1024
GSO_MAX_SEGS = 65535  # a veth's default: GSO packets cross it whole

#: Headroom above one socket's largest send buffer, for a few more sockets at their default size.
LIMIT_HEADROOM = 1 << 20

#: Queue length on a host's inbound (switch-side) shaper, as a time at the shaped rate.
INBOUND_LATENCY = "50ms"

#: Loss is drawn by nftables as ``numgen random mod 1000 < k``: steps of 1/1000.
LOSS_STEPS = 1000

TABLE = "smocast"
REORDER_TABLE = "smocast_reorder"  # the switch's table of reordering rules (testbed.reorder)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A tbf shaper as the kernel reports it."""

    rate_bps: float
    burst_bytes: int
    latency_s: float


def loss_steps(probability: float) -> int:
    """``probability`` rounded to the nearest 1/1000, as nftables will apply it (0.0234 -> 23)."""
    if not 0.0 <= probability < 1.0:
        raise TestbedError(f"a loss probability must be in [0, 1), got {probability}")
    return round(probability * LOSS_STEPS)


def rate_bits(rate: str | float) -> int:
    """A rate (``"100mbit"``, ``"1.5M"`` or bits/s) as whole bits per second, at least 8 kbit/s."""
    bits = int(parse_rate(rate))
    if bits < 8000:
        raise TestbedError(f"rate {rate!r} is below 8 kbit/s, too slow for tbf")
    return bits


def send_buffer_ceiling() -> int:
    """The largest send buffer a socket may ask for: twice ``net.core.wmem_max`` (the kernel doubles it).

    Namespaces cannot change ``wmem_max``; they see the machine's value, read here.
    """
    return 2 * int(Path("/proc/sys/net/core/wmem_max").read_text())


def outbound_limit() -> int:
    """tbf queue limit for a host's own egress: above any one socket's send buffer.

    A sending socket then blocks (or gets EAGAIN) when the shaper is backed up, because its
    bytes in the queue count against its send buffer; with a smaller limit tbf would drop the
    datagrams silently instead.
    """
    return send_buffer_ceiling() + LIMIT_HEADROOM


def set_rate(layout: Layout, index: int, rate: str | float | None, *, inbound: bool = False) -> None:
    """Shape host ``index``'s egress (or, with ``inbound``, the switch port's egress towards it).

    ``None`` removes the shaper. Outbound queues never drop (see :func:`outbound_limit`);
    inbound queues hold 50 ms and then drop, like a router in front of a slow link.
    """
    namespace, device = _shaped_device(layout, index, inbound)
    if inbound and reorders(layout, index):
        raise TestbedError(f"host {index} reorders: its switch port cannot have an inbound rate as well")
    if rate is None:
        run(["tc", "-n", namespace, "qdisc", "delete", "dev", device, "root"], check=False)
        return
    bits = rate_bits(rate)
    burst = max(MIN_BURST, bits // 8 // 1000)
    queue = ["latency", INBOUND_LATENCY] if inbound else ["limit", str(outbound_limit() + burst)]
    run(
        [
            "tc",
            "-n",
            namespace,
            "qdisc",
            "replace",
            "dev",
            device,
            "root",
            "tbf",
            "rate",
            f"{bits}bit",
            "burst",
            str(burst),
            *queue,
        ]
    )


def read_rate(layout: Layout, index: int, *, inbound: bool = False) -> RateLimit | None:
    """The tbf shaper on host ``index`` (or its switch port with ``inbound``), or None."""
    namespace, device = _shaped_device(layout, index, inbound)
    result = run(["tc", "-n", namespace, "-j", "qdisc", "show", "dev", device], check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return None
    for qdisc in json.loads(result.stdout):
        if qdisc.get("kind") == "tbf" and qdisc.get("root"):
            options = qdisc["options"]
            return RateLimit(
                rate_bps=float(options["rate"]) * 8,
                burst_bytes=int(options["burst"]),
                latency_s=float(options.get("lat", 0)) / 1e6,
            )
    return None


def _shaped_device(layout: Layout, index: int, inbound: bool) -> tuple[str, str]:
    return (layout.switch, layout.port(index)) if inbound else (layout.host(index), HOST_INTERFACE)


def set_loss(layout: Layout, index: int, probability: float) -> int:
    """Drop incoming UDP on host ``index`` with ``probability`` (rounded to 1/1000); return the steps.

    The rule sits in the host's ``inet`` input hook and matches UDP only, so IGMP, ICMP and
    the host's own sends are never hit. Probability 0 removes the rule.

    A UDP GSO packet crosses the veth pairs and the bridge whole, so the rule would drop all
    its datagrams at once (bursts, not independent loss): while a host has loss, its bridge
    port is set to ``gso_max_segs 1``, which makes the kernel cut such packets into datagrams
    before they leave the bridge, as a real link would carry them.
    """
    steps = loss_steps(probability)
    cut_gso = steps or reorders(layout, index)  # a reordering port cuts them too
    ip_batch(layout.switch, [f"link set dev {layout.port(index)} gso_max_segs {1 if cut_gso else GSO_MAX_SEGS}"])
    rule = (
        (f'meta l4proto udp numgen random mod {LOSS_STEPS} < {steps} counter drop comment "loss {steps}/{LOSS_STEPS}"')
        if steps
        else ""
    )
    nft_apply(layout.host(index), _replace_table("inet", {"input": ("input", [rule] if rule else [])}))
    return steps


def read_loss(layout: Layout, index: int) -> tuple[int, int]:
    """``(steps per 1000, packets dropped so far)`` of host ``index``'s loss rule; (0, 0) if none."""
    for rule in rules_of(layout.host(index), "inet"):
        for expr in rule.get("expr", []):
            match = expr.get("match", {})
            if isinstance(match.get("left"), dict) and "numgen" in match["left"]:
                return int(match["right"]), counted(rule)
    return 0, 0


def set_cut(layout: Layout, cut_hosts: set[int]) -> None:
    """Make the bridge drop every frame from and to the hosts in ``cut_hosts`` (empty: none).

    The hosts keep their link and addresses, and their sends still succeed, as when a cable
    is cut behind the switch; nothing reaches them and nothing they send goes anywhere.
    """
    ports = sorted(layout.port(i) for i in cut_hosts)
    pre = [f'iifname "{port}" counter drop comment "cut {port}"' for port in ports]
    post = [f'oifname "{port}" counter drop comment "cut {port}"' for port in ports]
    nft_apply(layout.switch, _replace_table("bridge", {"pre": ("prerouting", pre), "post": ("postrouting", post)}))


def read_cut(layout: Layout) -> set[int]:
    """The host indexes whose bridge port is cut off."""
    ports = {_port_matched(expr) for rule in rules_of(layout.switch, "bridge") for expr in rule.get("expr", [])}
    return {int(port[1:]) for port in ports if port and port[1:].isdigit()}


def _port_matched(expr: dict[str, Any]) -> str | None:
    """The interface name an ``iifname``/``oifname`` match expression compares with, else None."""
    match = expr.get("match", {})
    left = match.get("left")
    if isinstance(left, dict) and left.get("meta", {}).get("key") in ("iifname", "oifname"):
        return str(match["right"])
    return None


def _replace_table(family: str, chains: dict[str, tuple[str, list[str]]]) -> str:
    """An nft script that atomically replaces table ``smocast`` of ``family`` with these chains."""
    lines = [f"table {family} {TABLE} {{}}", f"delete table {family} {TABLE}", f"table {family} {TABLE} {{"]
    for name, (hook, rules) in chains.items():
        lines.append(f"  chain {name} {{ type filter hook {hook} priority 0; policy accept;")
        lines += [f"    {rule}" for rule in rules]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def reorders(layout: Layout, index: int) -> bool:
    """Whether the switch sends part of the traffic towards host ``index`` by a slow lane (testbed.reorder)."""
    return any(rule.get("chain") == layout.port(index) for rule in rules_of(layout.switch, "bridge", REORDER_TABLE))


def rules_of(namespace: str, family: str, table: str = TABLE) -> list[dict[str, Any]]:
    """The rules of nftables table ``table`` of ``family`` in ``namespace``, as ``nft -j`` lists them."""
    result = run(in_namespace(namespace, ["nft", "-j", "list", "table", family, table]), check=False)
    if result.returncode != 0:
        return []
    return [item["rule"] for item in json.loads(result.stdout)["nftables"] if "rule" in item]


def counted(rule: dict[str, Any]) -> int:
    """The packets a rule's counters counted."""
    return sum(int(expr["counter"]["packets"]) for expr in rule.get("expr", []) if "counter" in expr)
