"""The parser of ``smocast bench ack-server``; the benchmark runs in :mod:`smocast.bench.ack_server`."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import (
    EXIT_USAGE,
    HelpFormatter,
    check_baseline_src,
    duration_arg,
    fail,
    positive_int,
    print_json,
)
from smocast.core.errors import SmocastError

DESCRIPTION = """\
The ACKs per second a real source processes over real UDP: the source is what `smocast send`
runs (the asyncio runtime's drain loop and the sans-IO channel) on 127.0.0.1; load-generator
processes play --receivers receivers, one UDP socket each, with a real handshake, then ACK
two segments at a time behind the data the source multicasts, so every ACK is accepted and
releases data. Reports the median over --repeat runs of: ACKs processed per second, the
source's CPU per ACK and CPU utilisation (below 1.0 the generators limited the rate), the
generators' send rate, and the ACKs lost (sent but never processed). After each run, a bare
`recvfrom_into` loop reads 48-byte datagrams from a blaster process: its CPU per datagram is
the floor, and the report gives the source's ratio to it. With --baseline-src, each run is
followed by one run of that tree's ack-server (before and after in one run).

examples:
  smocast bench ack-server --receivers 1000 --json
  smocast bench ack-server --receivers 1000 --duration 5s --repeat 5 --json
  smocast bench ack-server --receivers 100 --generators 2 --window 16
  smocast bench ack-server --receivers 1000 --repeat 5 --baseline-src ../before/src
  smocast bench ack-server --receivers 1000 --compare-secure --repeat 3   # the secure mode's CPU per ACK
"""


def register(group: Any) -> None:
    p = group.add_parser(
        "ack-server",
        help="ACKs/s a real source processes over UDP (load-generator process)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=positive_int, default=1000, help="receivers the generators play")
    p.add_argument("--duration", type=duration_arg, default="5s", help="measured interval per run")
    p.add_argument("--warmup", type=duration_arg, default="0.5s", help="steady state before measuring")
    p.add_argument("--repeat", type=positive_int, default=3, help="runs; the medians are reported")
    p.add_argument("--generators", type=positive_int, default=1, help="load-generator processes")
    p.add_argument(
        "--window",
        type=positive_int,
        default=8,
        help="segments each receiver advertises: how far the source may run ahead (more queues "
        "more ACKs at the source; too many overflow its socket buffer)",
    )
    p.add_argument(
        "--baseline-src",
        default=None,
        metavar="DIR",
        help="the src folder of another checkout: one run of its ack-server after each run (ratio reported)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--secure",
        action="store_true",
        help="the secure mode: the receivers join through the layer and seal their ACKs",
    )
    mode.add_argument(
        "--compare-secure",
        action="store_true",
        help="both modes in one run, alternating: each one's CPU per ACK and their ratio",
    )
    p.add_argument("--json", action="store_true", help="accepted for symmetry; output is always JSON")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from smocast.bench.ack_server import Settings, compare, run  # noqa: PLC0415

    check_baseline_src(args.baseline_src)
    try:
        settings = Settings(
            args.receivers, args.duration, args.warmup, args.generators, args.window, secure=args.secure
        )
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        print_json(
            compare(settings, args.repeat) if args.compare_secure else run(settings, args.repeat, args.baseline_src)
        )
    except (RuntimeError, OSError, SmocastError) as exc:  # SmocastError: no multicast on 127.0.0.1, say
        fail(f"bench ack-server: {exc}")
    return 0
