"""``smocast bench secure``: the parser and the handler (the benchmark is :mod:`smocast.bench.secure`)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import (
    EXIT_USAGE,
    HelpFormatter,
    duration_arg,
    fail,
    int_list,
    positive_int,
    print_json,
    size_arg,
)

DESCRIPTION = """\
The secure mode against --insecure, in one run on this machine. For each group size N:
`smocast send` to N `smocast recv` processes on loopback, the two modes alternating for
--repeat runs each (medians, and their ratio; the goal is a ratio of at least 0.8); with
--testbed, the same on the namespace testbed (root), host 0's egress shaped to --rate. Then
the latency of a live stream (`smocast stream` to `smocast recv --realtime`) in both modes:
what the block signatures add. Goodput is the file over the time from admission to the
last verified copy. The secure runs prove a key made for the run, pinned with --trust.
On loopback every process shares this machine's CPUs: with many receivers the runs are
CPU-bound, and the ratio is the two modes' CPU cost per packet, not the network's.

examples:
  smocast bench secure
  smocast bench secure --receivers 1,4,16 --size 8M --repeat 3 --testbed --rate 100mbit
  smocast bench secure --receivers 1 --size 1M --repeat 1 --stream-duration 2s
"""


def register(group: Any) -> None:
    p = group.add_parser(
        "secure",
        help="the secure mode against --insecure: goodput to N receivers, a live stream's latency",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=int_list, default="1,4,16", metavar="N,...", help="group sizes")
    p.add_argument("--size", type=size_arg, default="8M", help="file size")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs of each mode and size; medians reported")
    p.add_argument("--testbed", action="store_true", help="also on the namespace testbed (root)")
    p.add_argument("--rate", default="100mbit", help="with --testbed: host 0's egress rate")
    p.add_argument("--hosts", type=positive_int, default=16, help="with --testbed: receiver hosts at most")
    p.add_argument("--prefix", default="bsc", help="with --testbed: namespaces PREFIX-h0...")
    p.add_argument("--stream-rate", type=float, default=500.0, help="messages per second of the live stream")
    p.add_argument("--stream-size", type=positive_int, default=1316, help="bytes per message of the live stream")
    p.add_argument("--stream-duration", type=duration_arg, default="5s", help="length of each live stream run")
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from smocast.bench.secure import SecureSettings  # noqa: PLC0415
    from smocast.bench.secure import run as measure  # noqa: PLC0415
    from smocast.core.errors import SmocastError  # noqa: PLC0415

    try:
        settings = SecureSettings(
            receivers=args.receivers,
            size=int(args.size),
            repeat=args.repeat,
            testbed=args.testbed,
            rate=args.rate,
            hosts=args.hosts,
            prefix=args.prefix,
            stream_rate=args.stream_rate,
            stream_size=args.stream_size,
            stream_duration=args.stream_duration,
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        print_json(measure(settings))
    except (RuntimeError, OSError, SmocastError) as exc:
        fail(f"bench secure: {exc}")
    return 0
