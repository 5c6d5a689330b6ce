"""``smocast recv --realtime``: receive a live stream (``smocast stream``) and report what was perceived.

``recv_cmd`` adds these options; ``recv_run`` hands over to :func:`run` when ``--realtime`` is given.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any, BinaryIO

from rich.table import Table

from smocast.aio import AsyncReceiver, ResetError, connect
from smocast.aio.netaddr import format_address
from smocast.apps.stream import LiveTally, stop_on_signals, watch
from smocast.cli.common import EXIT_FAILURE, console, err_console, fail, print_json
from smocast.cli.security_args import receiver_options, receiver_security_json
from smocast.cli.transfer_ui import failure
from smocast.cli.units import Units
from smocast.core.errors import SmocastError
from smocast.logs import RECEIVER, log_line
from smocast.text import plain


def run(args: argparse.Namespace) -> int:
    """Receive until the stream ends (FIN), the source resets us, --duration passes, or Ctrl-C."""
    with _opened(args.save) as save:
        report = asyncio.run(_receive(args, save))
    if args.json:
        print_json(report)
    else:
        _summary(report)
    if report["ended"] == "reset":
        err_console.print(f"[bold red]error:[/] the source reset this receiver ({plain(report['reset_reason'])})")
        return EXIT_FAILURE
    return 0


@contextlib.contextmanager
def _opened(path: Path | None) -> Any:
    if path is None:
        yield None
        return
    try:
        handle = path.open("wb")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}", kind="file")
    with handle:
        yield handle


async def _receive(args: argparse.Namespace, save: BinaryIO | None) -> dict[str, Any]:
    tally = LiveTally()
    stop = stop_on_signals()
    ended, reason = "fin", None
    started = time.monotonic()
    try:
        secure, security = receiver_options(args)
        opening = connect(
            args.server,
            args.group,
            source=args.source,
            interface=args.interface,
            timeout=args.timeout,
            idle_timeout=args.idle_timeout,
            realtime=True,
            framing=True,
            playout_delay=args.playout_delay or None,
            secure=secure,
            security=security,
        )
        async with opening as rx:
            log_line(RECEIVER, logging.INFO, "connected", f"connected at stream offset {rx.start}", start=rx.start)
            if not args.json:
                err_console.print(
                    f"connected to {plain(format_address(args.server))} from "
                    f"{plain(format_address(rx.local_address))}, stream offset {rx.start}"
                )
            timer = asyncio.get_running_loop().call_later(args.duration, stop.set) if args.duration else None
            try:
                await watch(rx, tally, save=save, stop=stop)
            except ResetError as exc:
                ended, reason = "reset", str(exc)
                log_line(RECEIVER, logging.WARNING, "reset", f"the source reset this receiver: {exc}", reason=str(exc))
            finally:
                if timer is not None:
                    timer.cancel()
            if stop.is_set():
                ended = "duration" if args.duration and time.monotonic() - started >= args.duration else "interrupted"
            log_line(RECEIVER, logging.INFO, "finished", f"left the stream: {ended}", ended=ended)
            return _report(tally, rx, args, ended, reason, time.monotonic() - started)
    except OSError as exc:
        fail(f"cannot write {args.save}: {exc.strerror}", kind="file")
    except SmocastError as exc:
        raise failure(exc) from None


def _report(
    tally: LiveTally, rx: AsyncReceiver, args: argparse.Namespace, ended: str, reason: str | None, elapsed: float
) -> dict[str, Any]:
    stats = rx.stats
    report = tally.as_json()
    report.update(
        {
            "ended": ended,
            "reset_reason": reason,
            "playout_delay_s": args.playout_delay,
            "duration_s": round(elapsed, 3),
            "stream_start": rx.start,
            "segments": {"received": stats.segments, "repairs": stats.repairs, "duplicates": stats.duplicates},
            "acks_sent": stats.acks_sent,
            "security": receiver_security_json(rx),
        }
    )
    return report


def _summary(report: dict[str, Any]) -> None:
    lat = report["latency_ms"]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "messages",
        f"{report['messages']} of {report['expected']} (#{report['first_message']} to #{report['last_message']})",
    )
    table.add_row("perceived loss", f"{report['perceived_loss']:.3%} ({report['missing']} missing)")
    table.add_row(
        "skipped", f"{Units.fitting(report['bytes']).bytes(report['skipped_bytes'])} in {report['gaps']} gaps"
    )
    table.add_row(
        "latency",
        f"p50 {lat['p50']:.1f} ms, p90 {lat['p90']:.1f} ms, p99 {lat['p99']:.1f} ms, "
        f"max {lat['max']:.1f} ms (assumes the sender's and this host's clocks agree)",
    )
    table.add_row("jitter", f"{report['jitter_ms']:.2f} ms (RFC 3550 interarrival)")
    table.add_row("repairs", f"{report['segments']['repairs']} of {report['segments']['received']} segments")
    table.add_row("ended", f"{report['ended']} after {report['duration_s']:.1f} s")
    console.print(table)
