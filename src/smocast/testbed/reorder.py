"""Reordering on a testbed: a share of the datagrams towards a host takes a slower lane.

The kernel of these machines has no netem, so the testbed reorders the way a path with two
links of different speed does: the switch port towards the host gets an htb qdisc with two
classes, a fast one (every datagram, by default) and a slow lane at twice the reordered share
of the testbed's rate, so the lane is about half busy. An nftables rule in the bridge's
postrouting hook picks the share at random (``numgen random``, steps of 1/1000) and sets the
datagram's priority to the slow class; htb takes the class from it. A datagram in the lane
waits a few of its own transmission times there (1.2 ms each for 1,500 bytes at 10 Mbit/s),
while those after it pass by the fast class: later datagrams arrive first.

While a port reorders, it cuts UDP GSO packets into datagrams (``gso_max_segs 1``), as
:func:`~smocast.testbed.shaping.set_loss` does, so each datagram takes its own lane.
"""

from __future__ import annotations

import json

from smocast.testbed import shaping
from smocast.testbed.layout import Layout
from smocast.testbed.runner import TestbedError, ip_batch, nft_apply, run

TABLE = shaping.REORDER_TABLE
FAST_RATE = "100gbit"  # the fast class: never the limit (the host's own shaper is)
FAST_BURST = "1mb"  # ...and never holds a datagram back for tokens
FAST_QUANTUM = "60000"  # bytes per round; htb's default (rate / 10) is beyond its limit at these rates
LANE_QUANTUM = "1514"
LANE_LOAD = 2  # the slow lane runs at this many times the reordered share of the rate


def reorder_steps(share: float) -> int:
    """``share`` rounded to the nearest 1/1000, as nftables will apply it (0.05 -> 50)."""
    if not 0.0 <= share < 1.0:
        raise TestbedError(f"a reordered share must be in [0, 1), got {share}")
    return round(share * shaping.LOSS_STEPS)


def lane_rate(share: float, rate: str | float) -> int:
    """The slow lane's rate in bits/s for ``share`` of a link of ``rate``: half busy, at least 8 kbit/s."""
    return max(8000, int(LANE_LOAD * share * shaping.rate_bits(rate)))


def set_reorder(layout: Layout, index: int, share: float, rate: str | float | None) -> int:
    """Send ``share`` (rounded to 1/1000) of the UDP towards host ``index`` by a slow lane; return the steps.

    ``rate`` is the testbed's link rate, which sizes the lane (:func:`lane_rate`); a reordering
    port needs one. Share 0 removes the lane. A port cannot reorder and have an inbound rate
    (:func:`~smocast.testbed.shaping.set_rate` with ``inbound``) at once: both are its root qdisc.
    """
    steps = reorder_steps(share)
    port = layout.port(index)
    if steps and rate is None:
        raise TestbedError("reordering needs the testbed's rate (--rate): the slow lane runs at a share of it")
    if steps and shaping.read_rate(layout, index, inbound=True) is not None:
        raise TestbedError(f"host {index} has an inbound rate: it cannot reorder as well")
    keep_gso_cut = steps or shaping.read_loss(layout, index)[0]
    ip_batch(layout.switch, [f"link set dev {port} gso_max_segs {1 if keep_gso_cut else shaping.GSO_MAX_SEGS}"])
    nft_apply(layout.switch, _chain_script(port, steps))
    if not steps:
        if _has_lane(layout, port):
            run(["tc", "-n", layout.switch, "qdisc", "delete", "dev", port, "root"])
        return 0
    assert rate is not None
    tc = ["tc", "-n", layout.switch]
    run([*tc, "qdisc", "replace", "dev", port, "root", "handle", "1:", "htb", "default", "10"])
    fast = ["rate", FAST_RATE, "burst", FAST_BURST, "cburst", FAST_BURST, "quantum", FAST_QUANTUM]
    run([*tc, "class", "replace", "dev", port, "parent", "1:", "classid", "1:10", "htb", *fast])
    lane = f"{lane_rate(share, rate)}bit"
    slow = ["rate", lane, "ceil", lane, "quantum", LANE_QUANTUM]
    run([*tc, "class", "replace", "dev", port, "parent", "1:", "classid", "1:20", "htb", *slow])
    return steps


def read_reorder(layout: Layout, index: int) -> tuple[int, int]:
    """``(steps per 1000, datagrams sent by the slow lane so far)`` towards host ``index``; (0, 0) if none."""
    port = layout.port(index)
    for rule in shaping.rules_of(layout.switch, "bridge", TABLE):
        if rule.get("chain") != port:
            continue
        for expr in rule.get("expr", []):
            match = expr.get("match", {})
            if isinstance(match.get("left"), dict) and "numgen" in match["left"]:
                return int(match["right"]), shaping.counted(rule)
    return 0, 0


def _has_lane(layout: Layout, port: str) -> bool:
    """Whether ``port`` has the htb qdisc of a slow lane at its root."""
    result = run(["tc", "-n", layout.switch, "-j", "qdisc", "show", "dev", port], check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return False
    return any(q.get("kind") == "htb" and q.get("root") for q in json.loads(result.stdout))


def _chain_script(port: str, steps: int) -> str:
    """An nft script that replaces chain ``port`` of the reordering table (removes it for 0 steps)."""
    rules = ["type filter hook postrouting priority 0; policy accept;"]

    def chain(lines: list[str]) -> list[str]:
        return [f"table bridge {TABLE} {{", f"  chain {port} {{", *(f"    {line}" for line in lines), "  }", "}"]

    script = [*chain(rules), f"delete chain bridge {TABLE} {port}"]
    if steps:
        script += chain(
            [
                *rules,
                f'oifname "{port}" meta l4proto udp numgen random mod {shaping.LOSS_STEPS} < {steps} '
                f'meta priority set 1:20 counter comment "reorder {steps}/{shaping.LOSS_STEPS}"',
            ]
        )
    return "\n".join(script) + "\n"
