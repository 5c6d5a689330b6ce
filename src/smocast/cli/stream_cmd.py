"""``smocast stream``: a live stream of messages at a fixed rate to every receiver of a TCP-SMO channel."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from rich.table import Table

from smocast.aio import NetworkError, open_channel
from smocast.apps.stream import (
    HEADER_SIZE,
    Bodies,
    StreamReport,
    StreamSpec,
    file_bodies,
    stop_on_signals,
    stream,
    synthetic_bodies,
    wait_for_receivers,
)
from smocast.cli.common import HelpFormatter, console, duration_arg, err_console, fail, positive_int, print_json
from smocast.cli.transfer_ui import address_arg, failure
from smocast.core.units import format_size
from smocast.smo.policies import WindowPolicy

DESCRIPTION = f"""\
Stream messages to every receiver of a TCP-SMO channel at a fixed rate (a live stream).
Admission is continuous: receivers may join at any time and start at the current message.
Each message begins with a {HEADER_SIZE}-byte header (message number, send time) so that
receivers (smocast recv --realtime) can measure loss, latency and jitter; the latency
figures assume the sender's and receivers' clocks agree (true on one machine or testbed).

A receiver that cannot keep up (its window stays shut, or it falls out of the --policy
buffer) is reset with a reason, and may connect again. Ctrl-C ends the stream cleanly:
receivers get FIN and the report is printed.

examples:
  smocast stream --group 239.1.2.3:6000 --bind 127.0.0.1:6000 --rate 50 --size 1448 --duration 20s
  smocast stream --group 232.1.1.1:5000 --rate 100 --size 1000 --packets 5000 --min-receivers 4 --json
  some-encoder | smocast stream --group 232.1.1.1:5000 --source - --rate 200 --size 1316

receivers run: smocast recv --realtime --server <this host>:<port> --group <group>:<port>
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stream",
        help="stream messages live to many receivers (real-time)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--group", type=address_arg, required=True, help="multicast group and port, e.g. 232.1.1.1:5000")
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="FILE|-",
        help="stream this file (or stdin) as messages; default: synthetic constant-bitrate messages",
    )
    p.add_argument("--rate", type=float, required=True, metavar="PKTS_PER_S", help="messages per second")
    p.add_argument(
        "--size",
        type=positive_int,
        default=1448,
        metavar="BYTES",
        help=f"bytes per message, the {HEADER_SIZE}-byte header included",
    )
    end = p.add_mutually_exclusive_group()
    end.add_argument("--packets", type=positive_int, default=None, help="stop after this many messages")
    end.add_argument("--duration", type=duration_arg, default=None, help="stop after this long")
    p.add_argument(
        "--policy", default=None, help="window policy: buffer:<bytes> (default: two seconds of media) or quorum:<f>"
    )
    p.add_argument(
        "--progress-timeout",
        type=duration_arg,
        default="3s",
        help="reset a receiver whose window stays shut, or that acknowledges nothing, this long",
    )
    p.add_argument("--congestion", default="newreno", help="congestion control: newreno, or fixed (media rate only)")
    p.add_argument("--min-receivers", type=int, default=0, help="wait for this many receivers before the first message")
    p.add_argument(
        "--wait",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="give up if --min-receivers did not join within this time (default: wait forever)",
    )
    p.add_argument("--interface", default=None, metavar="ADDR", help="address of the interface to multicast from")
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument("--mss", type=positive_int, default=1400, help="payload bytes per datagram")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.size < HEADER_SIZE:
        fail(f"--size must be at least {HEADER_SIZE} bytes (the header)", 2)
    if args.rate <= 0:
        fail("--rate must be positive", 2)
    policy = args.policy or f"buffer:{max(64 * args.size, int(2 * args.rate * args.size))}"
    WindowPolicy.parse(policy)
    if args.source not in (None, "-") and not Path(args.source).is_file():
        fail(f"{args.source}: no such file")
    with _opened_source(args.source) as source:
        report = asyncio.run(_stream(args, policy, source))
    if args.json:
        print_json(report.as_json())
    else:
        _summary(report)
    return 0


@contextlib.contextmanager
def _opened_source(name: str | None) -> Iterator[BinaryIO | None]:
    if name is None:
        yield None
    elif name == "-":
        yield sys.stdin.buffer
    else:
        try:
            handle = Path(name).open("rb")  # noqa: SIM115  (closed below: only opening errors are reported here)
        except OSError as exc:
            fail(f"cannot read {name}: {exc.strerror}")
        with handle:
            yield handle


async def _stream(args: argparse.Namespace, policy: str, source: BinaryIO | None) -> StreamReport:
    spec = StreamSpec(args.rate, args.size, args.packets, args.duration, args.min_receivers)
    bodies: Bodies = synthetic_bodies(args.size) if source is None else file_bodies(source, args.size)
    stop = stop_on_signals()
    try:
        opening = open_channel(
            args.group,
            args.bind,
            interface=args.interface,
            ttl=args.ttl,
            admission="continuous",
            min_receivers=0,
            policy=policy,
            progress_timeout=args.progress_timeout,
            congestion_control=args.congestion,
            mss=args.mss,
        )
        async with opening as channel:
            if not args.json:
                err_console.print(
                    f"source listening on {channel.address[0]}:{channel.address[1]}, "
                    f"streaming to {args.group[0]}:{args.group[1]} (Ctrl-C ends the stream)"
                )
            await _wait_for_receivers(channel, args.min_receivers, args.wait, stop)
            return await stream(channel, spec, bodies, stop=stop)
    except NetworkError as exc:
        raise failure(exc) from None


async def _wait_for_receivers(channel: Any, count: int, wait: float | None, stop: asyncio.Event) -> None:
    waiting = asyncio.ensure_future(wait_for_receivers(channel, count))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait([waiting, stopping], timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        stopping.cancel()
    if not done:
        fail(f"only {len(channel.receivers())} of {count} receivers joined within {wait:g} s")


def _summary(report: StreamReport) -> None:
    r = report.as_json()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "sent",
        f"{r['messages']} messages of {report.spec.size} B ({format_size(r['bytes'])}) "
        f"in {r['duration_s']:.2f} s, {r['achieved_pps']:.1f}/s (target {report.spec.rate:g}/s)",
    )
    rx = r["receivers"]
    table.add_row(
        "receivers", f"{rx['joined']} joined: {rx['completed']} to the end, {rx['dropped']} reset, {rx['left']} left"
    )
    for d in r["dropped"]:
        table.add_row("", f"receiver {d['receiver']} at {d['address']} reset: {d['reason']}")
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    if report.interrupted:
        table.add_row("ended", "interrupted (receivers got FIN)")
    console.print(table)
