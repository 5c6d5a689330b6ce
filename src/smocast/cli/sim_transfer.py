"""``smocast sim transfer``: a simulated TCP-SMO file transfer to N receivers."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.cli.common import (
    HelpFormatter,
    console,
    duration_arg,
    fail,
    positive_int,
    print_json,
    probability,
    rate_arg,
    size_arg,
)
from smocast.core.units import format_rate, format_size
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer
from smocast.smo.policies import CwndPolicy, WindowPolicy

DESCRIPTION = """\
Simulate one source sending a file of seeded random bytes to N receivers with TCP-SMO,
then check every completed receiver's bytes against the source's SHA-256.

examples:
  smocast sim transfer --receivers 200 --size 1M --loss 0.05
  smocast sim transfer --receivers 100 --loss 0.02 --ack-loss 0.02 --json
  smocast sim transfer --receivers 50 --policy quorum:0.9 --cwnd-policy fair:1,4
  smocast sim transfer --receivers 1500 --source-cpu-per-packet 20e-6   # an overloaded source
  smocast sim transfer --receivers 1200 --send-rate 1.16mbit --mss 1448  # the application paces itself
  smocast sim transfer --receivers 1000 --loss 0.01 --lossy-receivers 400  # loss at 400 of them only
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "transfer", help="a simulated TCP-SMO file transfer", description=DESCRIPTION, formatter_class=HelpFormatter
    )
    p.add_argument("--receivers", type=positive_int, default=100, help="number of receivers")
    p.add_argument("--size", type=size_arg, default="4M", help="file size (K, M, G are binary multiples)")
    p.add_argument(
        "--loss", type=probability, default=0.0, help="data loss probability, independent per receiver and packet"
    )
    p.add_argument("--ack-loss", type=probability, default=0.0, help="loss probability of ACKs and control")
    p.add_argument(
        "--burst",
        type=float,
        default=None,
        metavar="PACKETS",
        help="make loss bursty (Gilbert-Elliott) with this mean burst length",
    )
    p.add_argument(
        "--shared-loss",
        type=probability,
        default=0.0,
        help="loss on shared subtree links: correlated across their receivers",
    )
    p.add_argument("--subtree-size", type=int, default=0, help="receivers behind each shared subtree link")
    p.add_argument(
        "--lossy-receivers",
        type=positive_int,
        default=None,
        metavar="K",
        help="apply --loss to K receivers only, spread evenly over them (default: all)",
    )
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate, e.g. 100mbit, 1gbit")
    p.add_argument(
        "--send-rate",
        type=rate_arg,
        default=None,
        help="the source application writes the file at this rate (default: all at once); "
        "unlike --rate it leaves the links, and so the ACK path, at full speed",
    )
    p.add_argument("--delay", type=duration_arg, default="5ms", help="one-way delay of each receiver's path")
    p.add_argument(
        "--delay-max", type=duration_arg, default=None, help="spread receivers' delays evenly from --delay up to this"
    )
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    p.add_argument("--cwnd-policy", default="min", help="congestion window G: min or fair:<alpha>,<beta>")
    p.add_argument("--congestion", default="newreno", help="congestion control: newreno, or fixed (a constant window)")
    p.add_argument("--window", type=size_arg, default=None, help="send window (default: 4M), e.g. 64K")
    p.add_argument(
        "--ack-every",
        type=positive_int,
        default=None,
        help="fix segments per ACK (default: adaptive, 2 in slow start, up to 8)",
    )
    p.add_argument(
        "--source-cpu-per-packet",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time the source's receive path spends per received packet (models an overloaded server)",
    )
    p.add_argument(
        "--source-queue",
        type=positive_int,
        default=1000,
        help="packets that may wait for the source's receive path; more are dropped",
    )
    p.add_argument("--mss", type=positive_int, default=1400, help="payload bytes per segment")
    p.add_argument("--time-limit", type=float, default=3600.0, help="simulated seconds before giving up")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    CwndPolicy.parse(args.cwnd_policy)
    if args.lossy_receivers is not None and args.lossy_receivers > args.receivers:
        fail(f"--lossy-receivers {args.lossy_receivers} exceeds --receivers {args.receivers}", 2)
    spec = TransferSpec(
        receivers=args.receivers,
        size=args.size,
        path=PathSpec(
            rate=args.rate,
            delay=args.delay,
            delay_max=args.delay_max,
            loss=args.loss,
            ack_loss=args.ack_loss,
            burst=args.burst,
            shared_loss=args.shared_loss,
            subtree_size=args.subtree_size,
            lossy_receivers=args.lossy_receivers,
        ),
        policy=args.policy,
        cwnd_policy=args.cwnd_policy,
        ack_every=args.ack_every,
        source_cpu_per_packet=args.source_cpu_per_packet,
        source_cpu_queue=args.source_queue,
        source_rate=args.send_rate / 8 if args.send_rate else None,
        seed=args.seed,
        mss=args.mss,
        time_limit=args.time_limit,
        congestion=args.congestion,
        max_window=args.window,
    )
    with (
        console.status(f"simulating a transfer to {args.receivers} receivers...", spinner="dots")
        if not args.json
        else _Null()
    ):
        result = run_transfer(spec)
    report = result.as_json()
    if args.json:
        print_json(report)
    else:
        _summary(report)
    return 0 if report["completed"] == report["receivers"] - report["dropped"] and report["all_identical"] else 1


def _summary(r: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    seg = r["segments"]
    table.add_row("receivers", f"{r['completed']} of {r['receivers']} completed, {r['dropped']} dropped")
    table.add_row("integrity", "[green]all SHA-256 identical[/]" if r["all_identical"] else "[red]MISMATCH[/]")
    table.add_row("file", format_size(r["bytes"]))
    table.add_row("time", f"{r['sim_time_s']:.3f} s simulated ({r['wall_time_s']:.2f} s wall)")
    table.add_row("goodput", format_rate(r["goodput_bps"]))
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    table.add_row("ACKs processed", str(r["acks_processed"]))
    console.print(table)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
