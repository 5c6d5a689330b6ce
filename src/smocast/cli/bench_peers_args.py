"""The parser of ``smocast bench peers``; the benchmark runs in :mod:`smocast.bench.peers`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from smocast.cli.common import (
    EXIT_USAGE,
    HelpFormatter,
    fail,
    int_list,
    positive_int,
    print_json,
    probability,
    size_arg,
)
from smocast.core.errors import SmocastError

DESCRIPTION = """\
The same generated file from testbed host 0 to N receivers (receiver i on host i), sent by
smocast, udpcast, UFTP and N parallel TCP transfers, interleaved and repeated: for each N,
--repeat rounds of one run of every peer (needs root). Reports per run and as medians:
completion time, goodput per receiver, the source's bytes on the wire over the file size,
source and receivers' CPU (in all, and during the transfer), whether every copy is identical
(SHA-256), and smocast's ratio against each peer, per round and of the medians; also `bench
startup`'s CPU for one `smocast recv`. A peer whose tool is missing is skipped with a message
(install: apt install udpcast uftp). Each peer's settings are in the report ("commands") and
explained in docs/benchmarks.md. The testbed is torn down afterwards, also on errors and Ctrl-C.

examples:
  smocast bench peers --receivers 1,4,16,32 --size 20M --rate 100mbit --repeat 3 --json
  smocast bench peers --receivers 4,16,32 --loss 0.02 --markdown --plot loss.png
  smocast bench peers --receivers 16,32 --loss 0.02 --congestion lossfilter --peers smocast,udpcast,uftp
  smocast bench peers --receivers 32 --loss 0.02 --congestion fixed --smocast-rate 100mbit --peers smocast,uftp
  smocast bench peers --receivers 4,16 --reorder 0.05 --peers smocast,smocast-baseline --baseline-src ../before/src
  smocast bench peers --receivers 1,16 --rate unlimited --peers smocast,udpcast
  smocast bench peers --receivers 2 --size 1M --repeat 1 --mtu 9000
  smocast bench peers --receivers 4,16 --peers smocast,smocast-baseline --baseline-src ../main/src
"""


def register(group: Any) -> None:
    p = group.add_parser(
        "peers",
        help="smocast against udpcast, UFTP and N x TCP on the testbed (root)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=int_list, default="1,4,16,32", metavar="N,...", help="group sizes N")
    p.add_argument("--size", type=size_arg, default="20M", help="file size")
    p.add_argument("--rate", default="100mbit", help="the source's link rate (tc tbf), or 'unlimited'")
    p.add_argument("--loss", type=probability, default=0.0, help="random loss of UDP at each receiver host")
    p.add_argument(
        "--reorder",
        type=probability,
        default=0.0,
        help="share of UDP towards each receiver host sent by a slower lane, so later datagrams overtake it "
        "(smocast testbed up --reorder; needs --rate)",
    )
    p.add_argument("--repeat", type=positive_int, default=3, help="rounds per N; medians are reported")
    p.add_argument(
        "--mtu",
        type=positive_int,
        default=1500,
        help="MTU of every link; each peer fills it (smocast by path MTU discovery, the others by their block size)",
    )
    p.add_argument(
        "--peers",
        default="smocast,udpcast,uftp,tcp",
        help="which to run, in this order each round (also smocast-baseline, with --baseline-src)",
    )
    p.add_argument(
        "--baseline-src",
        default=None,
        metavar="DIR",
        help="the src folder of another checkout: smocast-baseline runs smocast from it (before and after)",
    )
    p.add_argument(
        "--congestion",
        default=None,
        help="smocast send's congestion control (newreno, lossfilter, ...); default: send's own default",
    )
    p.add_argument(
        "--smocast-rate",
        default=None,
        metavar="RATE",
        help="smocast send's --rate, a ceiling on its sending rate (e.g. 100mbit); with --congestion fixed, "
        "the like of UFTP's -R without congestion control; default: no ceiling",
    )
    p.add_argument("--startup-runs", type=int, default=5, help="start-ups of smocast recv to time (0: none)")
    p.add_argument("--prefix", default="bpe", help="testbed prefix (namespaces PREFIX-h0...)")
    p.add_argument("--plot", metavar="FILE.png", default=None, help="also draw the medians against N")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the whole report as JSON")
    output.add_argument("--markdown", action="store_true", help="print the medians and ratios as Markdown tables")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from smocast.bench import peers, peers_plot, peers_table  # noqa: PLC0415
    from smocast.cli.common import console, err_console  # noqa: PLC0415
    from smocast.testbed.runner import TestbedError  # noqa: PLC0415

    try:
        names = [name.strip() for name in args.peers.split(",") if name.strip()]
        settings = peers.PeersSettings(
            args.receivers, int(args.size), args.rate, args.loss, args.repeat, args.mtu, names, args.prefix,
            startup_runs=args.startup_runs, baseline_src=args.baseline_src, congestion=args.congestion,
            send_rate=args.smocast_rate, reorder=args.reorder,
        )  # fmt: skip
    except (ValueError, TestbedError, SmocastError) as exc:
        fail(str(exc), EXIT_USAGE)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # tear the testbed down, as on Ctrl-C
    try:
        report = peers.run(settings, progress=lambda line: err_console.print(line, markup=False))
    except (TestbedError, RuntimeError, OSError) as exc:
        fail(f"bench peers: {exc}")
    if args.plot:
        peers_plot.plot(report, Path(args.plot))
    if args.json:
        print_json(report)
        return 0
    if args.markdown:
        sys.stdout.write(peers_table.markdown(report))
        return 0
    console.print(peers_table.medians_table(report))
    for line in peers_table.goals_lines(report):
        console.print(line, markup=False)
    return 0
