"""``smocast bench ...``: speed and scale measurements that print JSON (not tests)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import HelpFormatter, int_list, print_json, show_help

DESCRIPTION = """\
Benchmarks: measurements of speed and scale, printed as JSON. They are not tests; the
figures and the commands that produced them are recorded in docs/benchmarks.md.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bench", help="measure speed and scale (prints JSON)", description=DESCRIPTION,
        formatter_class=HelpFormatter)
    group = parser.add_subparsers(title="benchmarks", metavar="<benchmark>")
    ack = group.add_parser("ack", help="source-side cost of one ACK at several group sizes",
                           formatter_class=HelpFormatter,
                           description="Decode, child update, master aggregation and the resulting "
                                       "sends, per ACK, for each group size; median of --repeat runs.")
    ack.add_argument("--receivers", type=int_list, default=[10, 100, 1000, 10000])
    ack.add_argument("--acks", type=int, default=200_000, help="ACKs timed per group size and run")
    ack.add_argument("--repeat", type=int, default=5, help="runs per group size; the median is reported")
    ack.add_argument("--batch", type=int, default=16,
                     help="ACKs handled between two calls of datagrams_to_send (the runtime drains in batches)")
    ack.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    ack.set_defaults(handler=_run_ack)
    sim = group.add_parser("sim", help="simulator speed in receiver-segment deliveries per second",
                           formatter_class=HelpFormatter)
    sim.add_argument("--receivers", type=int, default=1000)
    sim.add_argument("--size", type=int, default=2 << 20, help="bytes transferred")
    sim.add_argument("--loss", type=float, default=0.01)
    sim.add_argument("--repeat", type=int, default=3)
    sim.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    sim.set_defaults(handler=_run_sim)
    agg = group.add_parser("aggregate", help="the master's aggregation step alone, against a scan of all children",
                           formatter_class=HelpFormatter,
                           description="Per ACK, one child's value moves and the channel needs the minimum over "
                                       "all children: the counting structure the channel uses, against a scan "
                                       "timed in the same run.\n\nexample:\n  smocast bench aggregate "
                                       "--receivers 100,1000,10000 --repeat 5")
    agg.add_argument("--receivers", type=int_list, default=[100, 1000, 10000])
    agg.add_argument("--acks", type=int, default=200_000, help="ACKs timed per group size and run")
    agg.add_argument("--scan-acks", type=int, default=5_000, help="ACKs the (slow) scan is timed over")
    agg.add_argument("--repeat", type=int, default=5, help="runs per group size; the median is reported")
    agg.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    agg.set_defaults(handler=_run_aggregate)
    parser.set_defaults(handler=show_help(parser))


def _run_ack(args: argparse.Namespace) -> int:
    from smocast.bench.ack import run  # noqa: PLC0415  (benchmarks load only when asked for)

    print_json(run(args.receivers, args.acks, args.repeat, args.batch))
    return 0


def _run_aggregate(args: argparse.Namespace) -> int:
    from smocast.bench.aggregate import run  # noqa: PLC0415

    print_json(run(args.receivers, args.acks, args.scan_acks, args.repeat))
    return 0


def _run_sim(args: argparse.Namespace) -> int:
    from smocast.bench.sim import run  # noqa: PLC0415

    print_json(run(args.receivers, args.size, args.loss, args.repeat))
    return 0
