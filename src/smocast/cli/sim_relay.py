"""``smocast sim relay``: relay hierarchies in the simulator."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.cli.common import HelpFormatter, console, fail, positive_int, print_json, rate_arg, size_arg
from smocast.core.units import format_rate, format_size
from smocast.sim.relay import RelaySpec, run_relay
from smocast.sim.topology import PathSpec
from smocast.smo.policies import WindowPolicy

DESCRIPTION = """\
Simulate a root server, levels of relay servers, and many receivers. Each server (root and
relays) handles received packets on a CPU with --cpu-per-packet seconds each (18 us is
the paper's 930 MHz server: about 55,000 ACKs per second), so one server saturates on
ACKs and a hierarchy spreads them.

examples:
  smocast sim relay --levels 2 --relays 3 --receivers 2300 --size 4M     # the paper's experiment
  smocast sim relay --relays 30 --receivers 2300 --json
  smocast sim relay --relays 3 --receivers 60 --kill-relay 1 --kill-at 0.2   # fail over
  smocast sim relay --levels 3 --relays 10 --fanout 10 --receivers 100000 --size 256K
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "relay",
        help="relay hierarchies: root, relays, receivers",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--levels", type=positive_int, default=2, help="levels of servers, the root included")
    p.add_argument("--relays", type=positive_int, default=3, help="relays at the first level")
    p.add_argument("--fanout", type=positive_int, default=None, help="relays below each relay deeper down")
    p.add_argument("--receivers", type=positive_int, default=2300, help="receivers at the bottom, in all")
    p.add_argument("--size", type=size_arg, default="1M", help="file size")
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate")
    p.add_argument(
        "--cpu-per-packet",
        type=float,
        default=18e-6,
        metavar="SECONDS",
        help="each server's CPU time per received packet; 0 for unlimited",
    )
    p.add_argument("--ack-every", type=positive_int, default=2, help="segments per ACK (the paper: 2, standard TCP)")
    p.add_argument("--policy", default="slowest", help="window policy of every server")
    p.add_argument(
        "--kill-relay", type=int, default=None, metavar="INDEX", help="kill this relay of the last level mid-transfer"
    )
    p.add_argument("--kill-at", type=float, default=0.5, help="when to kill it, in simulated seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    if args.levels < 2:
        fail("--levels must be at least 2 (the root and one level of relays)", 2)
    spec = RelaySpec(
        levels=args.levels,
        relays=args.relays,
        fanout=args.fanout,
        receivers=args.receivers,
        size=args.size,
        path=PathSpec(rate=args.rate, delay=0.0005),
        cpu_per_packet=args.cpu_per_packet or None,
        ack_every=args.ack_every,
        policy=args.policy,
        kill_relay=args.kill_relay,
        kill_at=args.kill_at,
        seed=args.seed,
    )
    with console.status(f"simulating {args.receivers} receivers behind relays...") if not args.json else _Quiet():
        report = run_relay(spec).as_json()
    if args.json:
        print_json(report)
    else:
        _summary(report)
    return 0 if report["all_identical"] and report["completed"] == report["receivers"] else 1


def _summary(r: dict[str, Any]) -> None:
    console.print(
        f"{r['completed']} of {r['receivers']} receivers completed "
        f"({'all SHA-256 identical' if r['all_identical'] else 'MISMATCH'}), "
        f"{format_size(r['bytes'])} at {format_rate(r['goodput_bps'])} sustained, "
        f"{r['failovers']} fail-overs, {r['wall_time_s']:.1f} s wall"
    )
    table = Table()
    for column in ("level", "servers", "receivers each", "ACKs/s per server", "CPU drops", "killed"):
        table.add_column(column, justify="right")
    for level in r["per_level"]:
        acks = level["acks_per_s_per_server"]
        table.add_row(
            str(level["level"]),
            str(level["servers"]),
            f"{level['receivers_per_server']:g}",
            f"{acks['mean']} (max {acks['max']})",
            str(level["cpu_drops"]),
            str(level["killed"]),
        )
    console.print(table)


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
