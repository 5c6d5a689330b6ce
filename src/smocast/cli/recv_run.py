"""``smocast recv``: join a TCP-SMO channel, receive a set of files, verify each, keep them.

The parser is in :mod:`smocast.cli.recv_cmd`; :func:`run` is its handler. This is the path
every receiver process starts through, so it loads only what receiving needs: the runtime
and the file transfer; ``rich`` only to print for a person (never with ``--json``); the
real-time mode, fail-over and the daemon only when asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from smocast.apps.filetransfer import Server
from smocast.apps.setplan import WritePolicy
from smocast.apps.setreceive import SetResult, receive_set
from smocast.cli import common
from smocast.cli.common import EXIT_USAGE, fail, print_json
from smocast.cli.security_args import receiver_options
from smocast.cli.transfer_ui import TransferProgress, failure
from smocast.core.errors import SmocastError
from smocast.logs import RECEIVER, log_line


def run(args: argparse.Namespace) -> int:
    if args.daemon:
        from smocast.cli import recvd_run  # noqa: PLC0415  (only the daemon needs it)

        return recvd_run.run(recvd_run.from_recv(args))
    if args.server is None or args.group is None:
        fail("smocast recv needs --server and --group (or --daemon, to take announced transfers)", EXIT_USAGE)
    if args.realtime:
        from smocast.cli import recv_realtime  # noqa: PLC0415  (only live streams need it)

        return recv_realtime.run(args)
    if not args.output.is_dir():
        fail(f"the output directory {args.output} does not exist", kind="file")
    if args.overwrite and args.backup:
        fail("--overwrite and --backup exclude each other (--backup also replaces, keeping the old file)", EXIT_USAGE)
    result = asyncio.run(_receive(args))
    log_received(result)
    if args.json:
        print_json(result.as_json())
    else:
        summary(result)
    return 0


def write_policy(args: argparse.Namespace) -> WritePolicy:
    return WritePolicy(overwrite=args.overwrite, backup=args.backup)


async def _receive(args: argparse.Namespace) -> SetResult:
    if args.fallback:
        from smocast.cli.recv_fallback import servers  # noqa: PLC0415

        chain = servers(args)
        options = {"source_timeout": args.source_timeout}
    else:
        chain = [Server(args.server, args.group)]
        options = {"source": args.source}
    try:
        secure, security = receiver_options(args)
        with TransferProgress("receiving", 0, enabled=not args.json) as ui:
            return await receive_set(
                chain,
                args.output,
                policy=write_policy(args),
                wait=args.wait,
                resume_partial=not args.no_resume,
                progress=ui.update,
                notice=lambda event, text: note(args, event, text),
                interface=args.interface,
                timeout=args.timeout,
                idle_timeout=args.idle_timeout or None,
                secure=secure,
                security=security,
                **options,
            )
    except SmocastError as exc:
        raise failure(exc) from None


def note(args: argparse.Namespace, event: str, text: str) -> None:
    """A line for the user about the run (connected, waiting, resuming, failing over), logged too."""
    warning = event in ("resumed", "removed", "insecure")
    log_line(RECEIVER, logging.WARNING if warning else logging.INFO, event, text)
    if not args.json:
        from smocast.text import plain  # noqa: PLC0415

        common.err_console.print(plain(text))


def log_received(result: SetResult) -> None:
    """The ``completed`` log line: the files are verified and in place."""
    report = result.as_json()
    log_line(
        RECEIVER,
        logging.INFO,
        "completed",
        f"received {report['file']} ({report['files']} files, {report['bytes']} bytes), SHA-256 verified",
        file=report["file"],
        files=report["files"],
        bytes=report["bytes"],
        sha256=report["sha256"],
        resumed_from=result.resumed_from,
        transfer_time_s=report["transfer_time_s"],
        repairs=result.repairs,
    )


def summary(result: SetResult) -> None:
    """The human summary of a received set."""
    from rich.table import Table  # noqa: PLC0415

    from smocast.cli.units import Units  # noqa: PLC0415
    from smocast.text import plain  # noqa: PLC0415

    report = result.as_json()
    units = Units.fitting(report["bytes"])
    waited = result.wall_time_s - result.transfer_time_s
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    if report["files"] == 1 and not report["directories"]:
        table.add_row("file", f"{plain(report['file'])} ({units.bytes(report['bytes'])})")
        table.add_row("integrity", f"[green]SHA-256 verified[/] {report['sha256'][:16]}...")
    else:
        kept = f", {report['already_present']} already there" if report["already_present"] else ""
        table.add_row(
            "files",
            f"{plain(report['file'])}: {report['files']} files, {report['directories']} directories, "
            f"{units.bytes(report['bytes'])}{kept}",
        )
        table.add_row("integrity", "[green]every SHA-256 verified[/]")
    if result.resumed_from:
        table.add_row("resumed", f"at byte {result.resumed_from} of the stream (an earlier receive was interrupted)")
    table.add_row("transfer", f"{result.transfer_time_s:.3f} s from the first byte to the last verified file")
    table.add_row("waited", f"{waited:.3f} s from starting to the first byte (for the source and the other receivers)")
    table.add_row("goodput", f"{units.rate_of(result.goodput_bps)} (the files over the transfer time)")
    table.add_row("repairs", f"{result.repairs} segments received again after a loss")
    common.console.print(table)
