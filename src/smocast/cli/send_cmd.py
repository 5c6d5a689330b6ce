"""``smocast send``: send one file to every receiver of a TCP-SMO channel over IP multicast."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from rich.table import Table

from smocast.aio import AsyncChannel, NetworkError, open_channel
from smocast.aio.errors import os_error_message
from smocast.apps.filehistory import FileHistory
from smocast.apps.filetransfer import FileTransferError, SendReport, describe, send_file
from smocast.apps.manifest import Manifest
from smocast.cli.common import HelpFormatter, console, duration_arg, err_console, fail, positive_int, print_json
from smocast.cli.transfer_ui import TransferProgress, address_arg, failure
from smocast.core.units import format_rate, format_size
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy

DESCRIPTION = """\
Send FILE to every receiver of a TCP-SMO channel: each byte goes once to the multicast
group; ACKs and repairs travel by unicast. A manifest (name, size, SHA-256) goes first, and
each receiver verifies its copy. The command waits for --min-receivers receivers, sends,
and returns once every receiver completed or was dropped.

examples:
  smocast send image.iso --group 232.1.1.1:5000 --min-receivers 3
  smocast send data.bin --group 239.1.2.3:6000 --bind 127.0.0.1:6000 --json
  smocast send video.ts --group 232.1.1.1:5000 --policy quorum:0.9 --cwnd-policy fair:1,4

receivers run: smocast recv --server <this host>:<port> --group <group>:<port>
Receivers on this same host need the source bound to one address (not 0.0.0.0) on the group port.
"""

WATCH_INTERVAL = 0.1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "send",
        help="send a file to many receivers over IP multicast",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("file", type=Path, help="the file to send")
    p.add_argument("--group", type=address_arg, required=True, help="multicast group and port, e.g. 232.1.1.1:5000")
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument("--interface", default=None, metavar="ADDR", help="address of the interface to multicast from")
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument("--min-receivers", type=positive_int, default=1, help="receivers to wait for before sending")
    p.add_argument(
        "--wait",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="give up if not enough receivers joined within this time (default: wait forever)",
    )
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    p.add_argument("--cwnd-policy", default="min", help="congestion window G: min or fair:<alpha>,<beta>")
    p.add_argument("--rtt-policy", default="max", help="channel RTT: max or percentile:<q>")
    p.add_argument(
        "--progress-timeout",
        type=duration_arg,
        default="10s",
        help="drop a receiver that acknowledges nothing new for this long",
    )
    p.add_argument("--mss", type=positive_int, default=1400, help="payload bytes per datagram")
    p.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    CwndPolicy.parse(args.cwnd_policy)
    RttPolicy.parse(args.rtt_policy)
    if not args.file.is_file():
        fail(f"{args.file}: no such file")
    report = asyncio.run(_send(args))
    if args.json:
        print_json(report.as_json())
    else:
        _summary(report)
    s = report.summary
    return 0 if s.completed and not s.dropped and not s.left else 1


async def _send(args: argparse.Namespace) -> SendReport:
    try:
        manifest = await describe(args.file)
        with _file_history(manifest, args.file) as history:
            opening = open_channel(
                args.group,
                args.bind,
                interface=args.interface,
                ttl=args.ttl,
                min_receivers=args.min_receivers,
                policy=args.policy,
                cwnd_policy=args.cwnd_policy,
                rtt_policy=args.rtt_policy,
                progress_timeout=args.progress_timeout,
                mss=args.mss,
                history=history,
            )
            async with opening as channel:
                await _serve(channel, args, manifest)
    except (NetworkError, FileTransferError) as exc:
        raise failure(exc) from None
    return SendReport(manifest, channel.summary())


def _file_history(manifest: Manifest, path: Path) -> FileHistory:
    """The stream served again from the disk, for receivers that resume after a fail-over."""
    try:
        return FileHistory(manifest.encode(), path)
    except OSError as exc:
        raise FileTransferError(os_error_message(exc, f"cannot read {path}")) from None


async def _serve(channel: AsyncChannel, args: argparse.Namespace, manifest: Manifest) -> None:
    """Wait for the receivers, send the file, close, and wait until every receiver is done."""
    if not args.json:
        err_console.print(
            f"source listening on {channel.address[0]}:{channel.address[1]}, "
            f"multicasting to {args.group[0]}:{args.group[1]}"
        )
    with TransferProgress("waiting for receivers", len(manifest.encode()) + manifest.size, enabled=not args.json) as ui:
        watcher = asyncio.create_task(_watch(channel, ui, args.min_receivers))
        try:
            await _wait_started(channel, args.wait)
            await send_file(channel, args.file, manifest=manifest)
            channel.close()
            await channel.wait_closed()
        finally:
            watcher.cancel()


async def _wait_started(channel: AsyncChannel, wait: float | None) -> None:
    try:
        async with asyncio.timeout(wait):
            await channel.wait_started()
    except TimeoutError:
        joined = len(channel.receivers())
        fail(f"only {joined} of {channel.config.min_receivers} receivers joined within {wait:g} s")


async def _watch(channel: AsyncChannel, ui: TransferProgress, wanted: int) -> None:
    """Refresh the bar: the slowest live receiver's acknowledged bytes, or who joined so far."""
    while True:
        live = [r for r in channel.receivers() if r.state != "syn-received"]
        if not channel.started:
            ui.describe(f"waiting for receivers: {len(live)} of {wanted} joined")
        else:
            done = min((r.acked for r in live), default=channel.bytes_sent)
            ui.update(done, description=f"sending to {len(live)} receivers")
        await asyncio.sleep(WATCH_INTERVAL)


def _summary(report: SendReport) -> None:
    r, s, m = report.as_json(), report.summary, report.manifest
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "receivers",
        f"{s.completed} of {s.receivers} completed, {s.dropped} dropped, {s.left} left"
        + (f", {s.refused} refused" if s.refused else ""),
    )
    table.add_row("file", f"{m.name}, {format_size(m.size)}, SHA-256 {m.hexdigest[:16]}...")
    if s.wall_time_s is not None:
        table.add_row("time", f"{s.wall_time_s:.3f} s")
        table.add_row("goodput", format_rate(r["goodput_bps"]))
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    console.print(table)
    if s.records:
        console.print(_receiver_table(report))


def _receiver_table(report: SendReport) -> Table:
    table = Table(title="receivers", title_justify="left")
    for name in ("receiver", "address", "status", "acked", "SRTT", "repairs (uni/multi)"):
        table.add_column(name, justify="right" if name in ("acked", "SRTT") else "left")
    for record in report.summary.records:
        srtt = f"{record.srtt * 1e3:.2f} ms" if record.srtt is not None else "-"
        status = record.status if record.reason is None else f"{record.status} ({record.reason})"
        table.add_row(
            str(record.receiver),
            f"{record.address[0]}:{record.address[1]}",
            status,
            format_size(record.acked),
            srtt,
            f"{record.repairs_unicast}/{record.repairs_multicast}",
        )
    return table
