"""``smocast send``: send one file to every receiver of a TCP-SMO channel over IP multicast.

The parser is in :mod:`smocast.cli.send_cmd`; :func:`run` is its handler.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.table import Table

from smocast.aio import AsyncChannel, NetworkError, open_channel
from smocast.aio.errors import os_error_message
from smocast.apps.filehistory import FileHistory
from smocast.apps.filetransfer import FileTransferError, SendReport, describe, send_file
from smocast.apps.manifest import Manifest
from smocast.cli.common import console, err_console, fail, print_json
from smocast.cli.monitor import ChannelMonitor, LiveTable, StatsFile
from smocast.cli.receivers_view import receiver_rows, receivers_table, table_note
from smocast.cli.security_args import segment_size, source_notes, source_options, source_security_json
from smocast.cli.transfer_ui import TransferProgress, failure
from smocast.cli.units import Units
from smocast.logs import log_events, stop_logging
from smocast.smo.policies import CwndPolicy, RttPolicy, WindowPolicy
from smocast.text import plain

SUMMARY_ROWS = 50
"""Receivers the final table lists (the least acked first); more would flood a terminal at scale."""


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    CwndPolicy.parse(args.cwnd_policy)
    RttPolicy.parse(args.rtt_policy)
    if not args.file.is_file():
        fail(f"{args.file}: no such file", kind="file")
    stats = StatsFile(args.stats_file) if args.stats_file is not None else None
    report, protection = asyncio.run(_send(args, stats))
    if args.json:
        print_json({**report.as_json(), "security": protection})
    else:
        _summary(report, protection["mss"])
    s = report.summary
    return 0 if s.completed and not s.dropped and not s.left else 1


async def _send(args: argparse.Namespace, stats: StatsFile | None) -> tuple[SendReport, dict[str, Any]]:
    try:
        secure, security = source_options(args)
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
                history=history,
                mss=segment_size(args.mss, secure),
                secure=secure,
                security=security,
            )
            async with opening as channel:
                await _serve(channel, args, manifest, stats)
    except (NetworkError, FileTransferError) as exc:
        raise failure(exc) from None
    return SendReport(manifest, channel.summary()), source_security_json(channel)


def _file_history(manifest: Manifest, path: Path) -> FileHistory:
    """The stream served again from the disk, for receivers that resume after a fail-over."""
    try:
        return FileHistory(manifest.encode(), path)
    except OSError as exc:
        raise FileTransferError(os_error_message(exc, f"cannot read {path}")) from None


async def _serve(channel: AsyncChannel, args: argparse.Namespace, manifest: Manifest, stats: StatsFile | None) -> None:
    """Wait for the receivers, send the file, close, and wait until every receiver is done."""
    if not args.json:
        err_console.print(
            f"source listening on {channel.address[0]}:{channel.address[1]}, "
            f"multicasting to {args.group[0]}:{args.group[1]}"
        )
        for note in source_notes(channel):
            err_console.print(note)
    about = {"file": manifest.name, "bytes": manifest.size, "group": f"{args.group[0]}:{args.group[1]}"}
    total = len(manifest.encode()) + manifest.size
    with _display(args, total, manifest.size, channel.config.mss) as (progress, table):
        monitor = ChannelMonitor(
            channel, wanted=args.min_receivers, about=about, progress=progress, table=table, stats=stats
        )
        watching = asyncio.create_task(monitor.run())
        logging = asyncio.create_task(log_events(channel.events()))
        try:
            await _wait_started(channel, args.wait)
            await send_file(channel, args.file, manifest=manifest)
            channel.close()
            await channel.wait_closed()
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await stop_logging(logging, finished=channel.finished)
            monitor.write_stats()


@contextlib.contextmanager
def _display(
    args: argparse.Namespace, total: int, size: int, mss: int
) -> Iterator[tuple[TransferProgress | None, LiveTable | None]]:
    """The progress bar, or with ``--watch`` the live table; neither with ``--json``."""
    if args.json:
        yield None, None
    elif args.watch:
        with LiveTable(
            sort=args.watch_sort, top=args.watch_top, units=Units.fitting(size), mss=args.mss or 1400
        ) as table:
            yield None, table
    else:
        with TransferProgress("waiting for receivers", total, enabled=True) as progress:
            yield progress, None


async def _wait_started(channel: AsyncChannel, wait: float | None) -> None:
    try:
        async with asyncio.timeout(wait):
            await channel.wait_started()
    except TimeoutError:
        joined = len(channel.receivers())
        fail(f"only {joined} of {channel.config.min_receivers} receivers joined within {wait:g} s", kind="timeout")


def _summary(report: SendReport, mss: int) -> None:
    r, s, m = report.as_json(), report.summary, report.manifest
    units = Units.fitting(m.size)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "receivers",
        f"{s.completed} of {s.receivers} completed, {s.dropped} dropped, {s.left} left"
        + (f", {s.refused} refused" if s.refused else ""),
    )
    table.add_row("file", f"{plain(m.name)}, {units.bytes(m.size)}, SHA-256 {m.hexdigest[:16]}...")
    if s.wall_time_s is not None:
        table.add_row("time", f"{s.wall_time_s:.3f} s, from the start (every receiver joined) to the last completion")
        table.add_row("goodput", units.rate_of(r["goodput_bps"]))
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    console.print(table)
    if s.records:
        end = max((rec.ended_at or 0.0 for rec in s.records), default=0.0)
        rows = receiver_rows(s.records, [], end)
        title = "receivers" if len(rows) <= SUMMARY_ROWS else f"receivers: the {SUMMARY_ROWS} least acked"
        console.print(receivers_table(rows, sort="acked", top=SUMMARY_ROWS, units=units, mss=mss, title=title))
        console.print(table_note(rows, sort="acked", top=SUMMARY_ROWS, mss=mss))
