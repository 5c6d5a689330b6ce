"""``smocast relay``: receive an upstream channel and multicast it again on a downstream one."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.table import Table

from smocast.aio import NetworkError, RelayReport, open_relay
from smocast.aio.relay import DEFAULT_HISTORY, DEFAULT_SOURCE_TIMEOUT
from smocast.cli.common import HelpFormatter, console, duration_arg, err_console, positive_int, print_json, size_arg
from smocast.cli.transfer_ui import address_arg, failure
from smocast.core.units import format_rate, format_size
from smocast.smo.policies import WindowPolicy

DESCRIPTION = f"""\
Run a relay server: a receiver of the channel at --upstream that is at the same time the
source of a channel of its own on --group. Every byte is forwarded as it arrives, without a
second copy; the relay acknowledges upstream only what its downstream window can hold, so
in reliable mode backpressure reaches the root. Its upstream may be the root (smocast send)
or another relay: hierarchies have any depth. A file is forwarded like any bytes, so
`smocast recv` behind a relay gets exactly what the root sent.

The relay keeps up to --history bytes of the stream (default {format_size(DEFAULT_HISTORY)}: three times
the demo's 20 MiB file), so receivers whose relay died can resume here from their last byte
(`smocast recv --fallback`). It exits once the upstream stream ended and every downstream
receiver completed or was dropped. If it loses its upstream first, it resets its receivers
(so they fail over at once) and exits with 1.

examples:
  smocast relay --upstream 192.0.2.10:5000 --upstream-group 232.1.1.1:5000 --group 232.1.2.1:5001
  smocast relay --upstream 127.0.0.1:6000 --upstream-group 239.1.2.3:6000 \\
                --group 239.1.2.4:6001 --bind 127.0.0.1:6001 --min-receivers 3 --json

receivers run: smocast recv --server <this host>:<port> --group <group>:<port>
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "relay",
        help="forward a channel to a channel of its own (relay server)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--upstream",
        type=address_arg,
        required=True,
        metavar="HOST:PORT",
        help="the upstream source's (or relay's) address",
    )
    p.add_argument(
        "--upstream-group",
        type=address_arg,
        required=True,
        metavar="GROUP:PORT",
        help="the upstream channel's multicast group and port",
    )
    p.add_argument(
        "--group",
        type=address_arg,
        required=True,
        metavar="GROUP:PORT",
        help="multicast group and port this relay sends to",
    )
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        metavar="ADDR:PORT",
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument("--interface", default=None, metavar="ADDR", help="address of the interface to multicast from")
    p.add_argument("--upstream-interface", default=None, metavar="ADDR", help="address to join the upstream on")
    p.add_argument("--upstream-source", default=None, metavar="ADDR", help="the upstream's source address for SSM")
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument("--min-receivers", type=positive_int, default=1, help="receivers to wait for before sending")
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    p.add_argument(
        "--progress-timeout",
        type=duration_arg,
        default="10s",
        help="drop a receiver that acknowledges nothing new for this long",
    )
    p.add_argument(
        "--history",
        type=size_arg,
        default=DEFAULT_HISTORY,
        metavar="BYTES",
        help="stream bytes kept for receivers that fail over here (e.g. 64M)",
    )
    p.add_argument(
        "--source-timeout",
        type=duration_arg,
        default=f"{DEFAULT_SOURCE_TIMEOUT:g}s",
        help="give the upstream up after this much silence (it heartbeats every second)",
    )
    p.add_argument("--timeout", type=duration_arg, default="10s", help="give up connecting upstream after this long")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    report = asyncio.run(_relay(args))
    if args.json:
        print_json(report.as_json())
    else:
        _summary(report)
    return 0 if report.summary.completed and not report.summary.dropped and not report.summary.left else 1


async def _relay(args: argparse.Namespace) -> RelayReport:
    try:
        opening = open_relay(
            args.upstream,
            args.upstream_group,
            args.group,
            args.bind,
            upstream_source=args.upstream_source,
            upstream_interface=args.upstream_interface,
            interface=args.interface,
            ttl=args.ttl,
            history=args.history,
            source_timeout=args.source_timeout,
            connect_timeout=args.timeout,
            min_receivers=args.min_receivers,
            policy=args.policy,
            progress_timeout=args.progress_timeout,
        )
        async with opening as relay:
            if not args.json:
                here, up = relay.channel.address, args.upstream
                err_console.print(
                    f"relaying {up[0]}:{up[1]} to {args.group[0]}:{args.group[1]}; "
                    f"receivers connect to {here[0]}:{here[1]}"
                )
            return await relay.wait_closed()
    except NetworkError as exc:
        raise failure(exc) from None


def _summary(report: RelayReport) -> None:
    r, s = report.as_json(), report.summary
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("upstream", f"{r['upstream']} on {r['upstream_group']}: {format_size(report.forwarded)} forwarded")
    table.add_row(
        "receivers",
        f"{s.completed} of {s.receivers} completed, {s.dropped} dropped, {s.left} left"
        + (f", {s.refused} refused" if s.refused else ""),
    )
    if s.wall_time_s is not None:
        table.add_row("time", f"{s.wall_time_s:.3f} s, {format_rate(s.goodput_bps)}")
    table.add_row("history", f"{format_size(report.history_kept)} kept from byte {report.history_start}")
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    console.print(table)
