"""``smocast recv``: join a TCP-SMO channel, receive one file, verify it, keep it."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.table import Table

from smocast.aio import connect
from smocast.apps.filetransfer import ReceivedFile, receive_file
from smocast.cli import recv_fallback, recv_realtime
from smocast.cli.common import HelpFormatter, console, duration_arg, err_console, fail, print_json
from smocast.cli.transfer_ui import TransferProgress, address_arg, failure
from smocast.core.errors import SmocastError
from smocast.core.units import format_rate, format_size

DESCRIPTION = """\
Join the multicast group, connect to the source, receive the file it sends and check its
SHA-256 against the manifest. The file appears in the output directory under the name the
source gave it only once verified; names that are paths are refused.

examples:
  smocast recv --server 192.0.2.10:5000 --group 232.1.1.1:5000 -o downloads
  smocast recv --server 127.0.0.1:6000 --group 239.1.2.3:6000 --json
  smocast recv --server 10.0.0.2:5001 --group 232.1.2.1:5001 -o downloads \\
               --fallback 10.0.0.3:5002@232.1.2.2:5002,10.0.0.1:5000@232.1.1.1:5000
  smocast recv --realtime --server 127.0.0.1:6000 --group 239.1.2.3:6000 --playout-delay 300ms --json

For a group in 232.0.0.0/8 the join is source-specific (SSM) with the server's address as
the source; use --source when the source multicasts from another address.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recv",
        help="receive a file from a source over IP multicast",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--server", type=address_arg, required=True, help="the source's HOST:PORT")
    p.add_argument("--group", type=address_arg, required=True, help="multicast group and port, e.g. 232.1.1.1:5000")
    p.add_argument("-o", "--output", type=Path, default=Path(), metavar="DIR", help="directory to write the file to")
    p.add_argument("--source", default=None, metavar="ADDR", help="the channel's source address for SSM")
    p.add_argument("--interface", default=None, metavar="ADDR", help="address of the interface to join on")
    p.add_argument("--timeout", type=duration_arg, default="10s", help="give up connecting after this long")
    p.add_argument(
        "--idle-timeout",
        type=duration_arg,
        default="60s",
        help="give up when nothing arrives from the source for this long (0: never)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    recv_realtime.add_arguments(p)
    recv_fallback.add_arguments(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.realtime:
        return recv_realtime.run(args)
    if not args.output.is_dir():
        fail(f"the output directory {args.output} does not exist")
    result = asyncio.run(_receive(args))
    if args.json:
        print_json(result.as_json())
    else:
        _summary(result)
    return 0


async def _receive(args: argparse.Namespace) -> ReceivedFile:
    try:
        if args.fallback:
            return await recv_fallback.receive(args)
        opening = connect(
            args.server,
            args.group,
            source=args.source,
            interface=args.interface,
            timeout=args.timeout,
            idle_timeout=args.idle_timeout or None,
        )
        async with opening as rx:
            if not args.json:
                err_console.print(
                    f"connected to {args.server[0]}:{args.server[1]} from {rx.local_address[0]}:{rx.local_address[1]}"
                )
            with TransferProgress("receiving", 0, enabled=not args.json) as ui:
                return await receive_file(rx, args.output, progress=ui.update)
    except SmocastError as exc:
        raise failure(exc) from None


def _summary(result: ReceivedFile) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("file", f"{result.path} ({format_size(result.size)})")
    table.add_row("integrity", f"[green]SHA-256 verified[/] {result.sha256[:16]}...")
    table.add_row("time", f"{result.wall_time_s:.3f} s ({result.transfer_time_s:.3f} s from the first byte)")
    table.add_row("goodput", format_rate(result.goodput_bps))
    table.add_row("repairs", str(result.repairs))
    console.print(table)
