"""The parser of ``smocast bench congestion``; the benchmark runs in :mod:`smocast.bench.congestion`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from smocast.cli.common import HelpFormatter, duration_arg, int_list, print_json, probability, rate_arg, size_arg

DESCRIPTION = """\
Random loss against congestion, in the simulator, for each congestion controller:
goodput per receiver on a lossy but uncongested LAN (--loss independent per receiver and
packet, --rate link, 10 ms round trip) for each group size and seed, with the median
over seeds and its ratio to newreno; then the channel's share beside 1 and 4 TCP flows on
a shared 10 Mbit/s drop-tail bottleneck (64 KiB queue, 20 ms), over a fair share. The
simulator is deterministic: the same arguments give the same JSON. With --testbed, both
sides run on the namespace testbed instead (root): real processes at 100 Mbit/s with
nftables loss at each receiver host, and kernel TCP flows (iperf3) through a 20 Mbit/s
tbf bottleneck. Prints progress on standard error, the report on standard output.

examples:
  smocast bench congestion --receivers 4,16,32 --seeds 1,2,3 --size 10M   # about 7 min
  smocast bench congestion --receivers 4 --seeds 1 --size 2M --sharing-duration 10s
  smocast bench congestion --markdown      # the tables of docs/benchmarks.md
  smocast bench congestion --testbed --receivers 4,16 --size 20M --repeat 3   # root; real processes
  smocast bench congestion --testbed --receivers 4,16,32 --repeat 3 --markdown  # its tables
"""


def register(group: Any) -> None:
    p = group.add_parser(
        "congestion",
        help="newreno against lossfilter: goodput at random loss, share beside TCP (simulator)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=int_list, default="4,16,32", metavar="N,...", help="group sizes")
    p.add_argument("--seeds", type=int_list, default="1,2,3", metavar="S,...", help="seeds of the lossy-LAN runs")
    p.add_argument("--size", type=size_arg, default="10M", help="file size of each lossy-LAN run")
    p.add_argument("--loss", type=probability, default=0.02, help="independent loss per receiver and packet")
    p.add_argument("--rate", type=rate_arg, default="100mbit", help="link rate of the lossy LAN")
    p.add_argument(
        "--sharing-duration", type=duration_arg, default="30s", help="simulated time of each shared-bottleneck run"
    )
    p.add_argument(
        "--testbed",
        action="store_true",
        help="run both sides on the namespace testbed instead (root, iproute2, nftables, iperf3): real "
        "processes, 100 Mbit/s tbf, nftables loss, kernel TCP flows through a 20 Mbit/s tbf bottleneck",
    )
    p.add_argument("--repeat", type=int, default=3, help="with --testbed: transfers per controller and N (median)")
    p.add_argument("--tcp-seconds", type=int, default=30, help="with --testbed: length of each run beside TCP")
    p.add_argument(
        "--markdown",
        action="store_true",
        help="print the two tables of docs/benchmarks.md instead of JSON (with --testbed too)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (the default)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if args.testbed:
        return _run_testbed(args)
    from smocast.bench.congestion import markdown, run  # noqa: PLC0415  (loads the simulator)
    from smocast.cli.common import err_console  # noqa: PLC0415

    report = run(
        args.receivers,
        args.seeds,
        int(args.size),
        loss=args.loss,
        rate=args.rate,
        duration=args.sharing_duration,
        progress=err_console.print,
    )
    if args.markdown and not args.json:
        sys.stdout.write(markdown(report))
    else:
        print_json(report)
    return 0


def _run_testbed(args: argparse.Namespace) -> int:
    from smocast.bench.congestion import CONTROLLERS  # noqa: PLC0415
    from smocast.bench.congestion_testbed import markdown, run  # noqa: PLC0415
    from smocast.cli.common import err_console, fail  # noqa: PLC0415
    from smocast.testbed.runner import TestbedError, check_prerequisites  # noqa: PLC0415

    try:
        check_prerequisites()
        report = run(
            args.receivers, int(args.size), args.loss, args.repeat, args.tcp_seconds, CONTROLLERS, err_console.print
        )
    except TestbedError as exc:
        fail(f"the testbed cannot run: {exc}", 1)
    if args.markdown and not args.json:
        sys.stdout.write(markdown(report))
    else:
        print_json(report)
    return 0
