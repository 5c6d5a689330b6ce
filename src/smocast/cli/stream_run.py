"""``smocast stream``: a live stream of messages at a fixed rate to every receiver of a TCP-SMO channel.

The parser is in :mod:`smocast.cli.stream_cmd`; :func:`run` is its handler.
"""

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
from smocast.aio.netaddr import format_address
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
from smocast.cli.common import EXIT_USAGE, console, err_console, fail, print_json
from smocast.cli.security_args import segment_size, source_notes, source_options
from smocast.cli.transfer_ui import failure
from smocast.cli.units import Units
from smocast.logs import log_events, stop_logging
from smocast.smo.policies import WindowPolicy
from smocast.text import plain


def run(args: argparse.Namespace) -> int:
    if args.size < HEADER_SIZE:
        fail(f"--size must be at least {HEADER_SIZE} bytes (the header)", EXIT_USAGE)
    if args.rate <= 0:
        fail("--rate must be positive", EXIT_USAGE)
    policy = args.policy or f"buffer:{max(64 * args.size, int(2 * args.rate * args.size))}"
    WindowPolicy.parse(policy)
    if args.source not in (None, "-") and not Path(args.source).is_file():
        fail(f"{args.source}: no such file", kind="file")
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
            fail(f"cannot read {name}: {exc.strerror}", kind="file")
        with handle:
            yield handle


async def _stream(args: argparse.Namespace, policy: str, source: BinaryIO | None) -> StreamReport:
    spec = StreamSpec(args.rate, args.size, args.packets, args.duration, args.min_receivers)
    bodies: Bodies = synthetic_bodies(args.size) if source is None else file_bodies(source, args.size)
    stop = stop_on_signals()
    try:
        secure, security = source_options(args, live=True)
        opening = open_channel(
            args.group,
            args.bind,
            interface=args.interface,
            ttl=args.ttl,
            admission="continuous",
            min_receivers=0,
            policy=policy,
            progress_timeout=args.progress_timeout,
            min_rate_fraction=args.min_rate_fraction,
            congestion_control=args.congestion,
            mss=segment_size(args.mss, secure),
            secure=secure,
            security=security,
        )
        async with opening as channel:
            if not args.json:
                err_console.print(
                    f"source listening on {plain(format_address(channel.address))}, "
                    f"streaming to {plain(format_address(args.group))} (Ctrl-C ends the stream)"
                )
                for note in source_notes(channel):
                    err_console.print(note)
            logging = asyncio.create_task(log_events(channel.events()))
            try:
                await _wait_for_receivers(channel, args.min_receivers, args.wait, stop)
                return await stream(channel, spec, bodies, stop=stop)
            finally:
                await stop_logging(logging, finished=channel.finished)
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
        fail(f"only {len(channel.receivers())} of {count} receivers joined within {wait:g} s", kind="timeout")


def _summary(report: StreamReport) -> None:
    r = report.as_json()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "sent",
        f"{r['messages']} messages of {report.spec.size} B ({Units.fitting(r['bytes']).bytes(r['bytes'])}) "
        f"in {r['duration_s']:.2f} s, {r['achieved_pps']:.1f}/s (target {report.spec.rate:g}/s)",
    )
    rx = r["receivers"]
    table.add_row(
        "receivers", f"{rx['joined']} joined: {rx['completed']} to the end, {rx['dropped']} reset, {rx['left']} left"
    )
    for d in r["dropped"]:
        table.add_row("", f"receiver {d['receiver']} at {d['address']} reset: {plain(d['reason'])}")
    seg = r["segments"]
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    if report.interrupted:
        table.add_row("ended", "interrupted (receivers got FIN)")
    console.print(table)
