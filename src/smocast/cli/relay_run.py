"""``smocast relay``: receive an upstream channel and multicast it again on a downstream one.

The parser is in :mod:`smocast.cli.relay_cmd`; :func:`run` is its handler.
"""

from __future__ import annotations

import argparse
import asyncio

from rich.table import Table

from smocast.aio import NetworkError, RelayReport, open_relay
from smocast.aio.netaddr import format_address
from smocast.cli.common import console, err_console, print_json
from smocast.cli.security_args import receiver_options, source_notes, source_options
from smocast.cli.transfer_ui import failure
from smocast.cli.units import Units
from smocast.logs import log_events, stop_logging
from smocast.smo.policies import WindowPolicy
from smocast.text import plain


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
        secure, security = source_options(args)
        upstream_security = receiver_options(args, upstream=True)[1]
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
            min_rate_fraction=args.min_rate_fraction,
            secure=secure,
            security=security,
            upstream_security=upstream_security,
        )
        async with opening as relay:
            if not args.json:
                here, up = relay.channel.address, args.upstream
                err_console.print(
                    f"relaying {plain(format_address(up))} to {plain(format_address(args.group))}; "
                    f"receivers connect to {plain(format_address(here))}"
                )
                for note in source_notes(relay.channel):
                    err_console.print(note)
            logging = asyncio.create_task(log_events(relay.channel.events()))
            try:
                return await relay.wait_closed()
            finally:
                await stop_logging(logging, finished=relay.channel.finished)
    except NetworkError as exc:
        raise failure(exc) from None


def _summary(report: RelayReport) -> None:
    r, s = report.as_json(), report.summary
    units = Units.fitting(max(report.forwarded, report.history_kept))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("upstream", f"{r['upstream']} on {r['upstream_group']}: {units.bytes(report.forwarded)} forwarded")
    table.add_row(
        "receivers",
        f"{s.completed} of {s.receivers} completed, {s.dropped} dropped, {s.left} left"
        + (f", {s.refused} refused" if s.refused else ""),
    )
    if s.wall_time_s is not None:
        table.add_row("time", f"{s.wall_time_s:.3f} s, {units.rate_of(s.goodput_bps)}")
    table.add_row("history", f"{units.bytes(report.history_kept)} kept from byte {report.history_start}")
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    console.print(table)
