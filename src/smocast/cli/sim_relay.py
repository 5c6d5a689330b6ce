"""``smocast sim relay``: relay hierarchies in the simulator."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.cli.common import console, fail, print_json
from smocast.core.units import format_rate, format_size
from smocast.sim.relay import RelaySpec, run_relay
from smocast.sim.topology import PathSpec
from smocast.smo.policies import WindowPolicy


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
