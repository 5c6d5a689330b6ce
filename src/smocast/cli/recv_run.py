"""``smocast recv``: join a TCP-SMO channel, receive one file, verify it, keep it.

The parser is in :mod:`smocast.cli.recv_cmd`; :func:`run` is its handler. This is the path
every receiver process starts through, so it loads only what receiving needs: the runtime
and the file transfer; ``rich`` only to print for a person (never with ``--json``); the
real-time and fail-over modes only when asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from smocast.aio import connect
from smocast.apps.filetransfer import ReceivedFile, receive_file
from smocast.cli import common
from smocast.cli.common import fail, print_json
from smocast.cli.security_args import receiver_notes, receiver_options, receiver_security_json
from smocast.cli.transfer_ui import TransferProgress, failure
from smocast.core.errors import SmocastError
from smocast.logs import RECEIVER, log_line


def run(args: argparse.Namespace) -> int:
    if args.realtime:
        from smocast.cli import recv_realtime  # noqa: PLC0415  (only live streams need it)

        return recv_realtime.run(args)
    if not args.output.is_dir():
        fail(f"the output directory {args.output} does not exist", kind="file")
    result, protection = asyncio.run(_receive(args))
    log_received(result)
    if args.json:
        print_json({**result.as_json(), "security": protection})
    else:
        _summary(result)
    return 0


async def _receive(args: argparse.Namespace) -> tuple[ReceivedFile, dict[str, Any] | None]:
    try:
        secure, security = receiver_options(args)
        if args.fallback:
            from smocast.cli import recv_fallback  # noqa: PLC0415

            return await recv_fallback.receive(args, secure, security), None
        opening = connect(
            args.server,
            args.group,
            source=args.source,
            interface=args.interface,
            timeout=args.timeout,
            idle_timeout=args.idle_timeout or None,
            secure=secure,
            security=security,
        )
        async with opening as rx:
            here, there = rx.local_address, args.server
            log_line(
                RECEIVER, logging.INFO, "connected", f"connected to {there[0]}:{there[1]} from {here[0]}:{here[1]}"
            )
            if not args.json:
                common.err_console.print(f"connected to {there[0]}:{there[1]} from {here[0]}:{here[1]}")
                for note in receiver_notes(rx):
                    common.err_console.print(note)
            with TransferProgress("receiving", 0, enabled=not args.json) as ui:
                result = await receive_file(rx, args.output, progress=ui.update)
            return result, receiver_security_json(rx)
    except SmocastError as exc:
        raise failure(exc) from None


def log_received(result: ReceivedFile) -> None:
    """The ``completed`` log line: the file is verified and in place."""
    log_line(
        RECEIVER,
        logging.INFO,
        "completed",
        f"received {result.path} ({result.size} bytes), SHA-256 verified",
        file=str(result.path),
        bytes=result.size,
        sha256=result.sha256,
        transfer_time_s=round(result.transfer_time_s, 6),
        repairs=result.repairs,
    )


def _summary(result: ReceivedFile) -> None:
    from rich.table import Table  # noqa: PLC0415

    from smocast.cli.units import Units  # noqa: PLC0415
    from smocast.text import plain  # noqa: PLC0415

    units = Units.fitting(result.size)
    waited = result.wall_time_s - result.transfer_time_s
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("file", f"{plain(result.path)} ({units.bytes(result.size)})")
    table.add_row("integrity", f"[green]SHA-256 verified[/] {result.sha256[:16]}...")
    table.add_row("transfer", f"{result.transfer_time_s:.3f} s from the first byte to the verified file")
    table.add_row("waited", f"{waited:.3f} s from connecting to the first byte (for the other receivers)")
    table.add_row("goodput", f"{units.rate_of(result.goodput_bps)} (the file over the transfer time)")
    table.add_row("repairs", f"{result.repairs} segments received again after a loss")
    common.console.print(table)
