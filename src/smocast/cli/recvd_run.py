"""``smocast recvd`` (and ``smocast recv --daemon``): run the receiver daemon until Ctrl-C or ``--count``.

The parser is in :mod:`smocast.cli.recvd_cmd`; :func:`run` is its handler.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from typing import Any

from smocast.apps.announce import DEFAULT_GROUP_V4
from smocast.apps.daemon import Daemon, Filter, Outcome
from smocast.apps.setplan import WritePolicy
from smocast.cli import common
from smocast.cli.common import EXIT_USAGE, fail
from smocast.cli.security_args import receiver_options
from smocast.cli.transfer_ui import failure
from smocast.cli.units import Units
from smocast.core.errors import SmocastError
from smocast.logs import RECEIVER, log_line
from smocast.text import printable


def from_recv(args: argparse.Namespace) -> argparse.Namespace:
    """``smocast recv --daemon``'s arguments as recvd's (no filters, the default announcement group)."""
    if args.server is not None or args.group is not None:
        fail("recv --daemon takes transfers from announcements, not --server or --group (see smocast recvd --help)", 2)
    return argparse.Namespace(
        output=args.output,
        announce_group=DEFAULT_GROUP_V4,
        interface=args.interface,
        sources=[],
        names=[],
        max_concurrent=4,
        count=None,
        timeout=args.timeout,
        idle_timeout=args.idle_timeout,
        json=args.json,
        overwrite=args.overwrite,
        backup=args.backup,
        no_resume=args.no_resume,
        insecure=args.insecure,
        trust=args.trust,
        known_sources=args.known_sources,
        trust_on_first_use=args.trust_on_first_use,
        identify=args.identify,
        key=args.key,
    )


def run(args: argparse.Namespace) -> int:
    if not args.output.is_dir():
        fail(f"the output directory {args.output} does not exist", kind="file")
    if args.overwrite and args.backup:
        fail("--overwrite and --backup exclude each other (--backup also replaces, keeping the old file)", EXIT_USAGE)
    try:
        accept = Filter.parse(args.sources, args.names)
    except ValueError as exc:
        fail(f"--from: {exc}", EXIT_USAGE)
    try:
        secure, security = receiver_options(args)
    except SmocastError as exc:
        raise failure(exc) from None
    verify: dict[str, Any] = {}
    if security is not None:
        from smocast.apps.announce_auth import AnnouncementCheck  # noqa: PLC0415  (the secure mode only)

        verify["verify"] = AnnouncementCheck(security)
    daemon = Daemon(
        args.output,
        args.announce_group,
        interface=args.interface,
        accept=accept,
        policy=WritePolicy(overwrite=args.overwrite, backup=args.backup, keep_partial=not args.no_resume),
        max_concurrent=args.max_concurrent,
        options={
            "timeout": args.timeout,
            "idle_timeout": args.idle_timeout or None,
            "secure": secure,
            "security": security,
        },
        on_outcome=lambda outcome: _report(args, outcome),
        notice=lambda event, text: _notice(args, text, event),
        **verify,
    )
    outcomes = asyncio.run(_until_stopped(daemon, args.count))
    if outcomes is None:
        _notice(args, "stopped (SIGTERM); interrupted transfers kept their partial files for a resume")
        return 0
    return 0 if all(o.result is not None for o in outcomes) else 1


async def _until_stopped(daemon: Daemon, count: int | None) -> list[Outcome] | None:
    """Run the daemon; SIGTERM (a service manager stopping it) ends it cleanly: None."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await daemon.run(count)
    except asyncio.CancelledError:
        return None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _notice(args: argparse.Namespace, text: str, event: str = "notice") -> None:
    log_line(RECEIVER, logging.INFO, event, text)
    if not args.json:
        common.err_console.print(printable(text), markup=False, highlight=False)


def _report(args: argparse.Namespace, outcome: Outcome) -> None:
    """One line per transfer: JSON with --json, else a sentence; a log line either way."""
    report = outcome.as_json()
    name = printable(outcome.announcement.name)
    if outcome.result is not None:
        units = Units.fitting(report["bytes"])
        line = (
            f"received {name}: {report['files']} files, {units.bytes(report['bytes'])} into "
            f"{printable(report['file'])}, every SHA-256 verified, {units.rate_of(report['goodput_bps'])}"
        )
        log_line(RECEIVER, logging.INFO, "completed", line, transfer=report["transfer"], file=report["file"])
    else:
        again = " (will resume at its next announcement)" if outcome.will_retry else ""
        line = f"failed {name} from {report['server']}: {printable(outcome.error)}{again}"
        log_line(RECEIVER, logging.WARNING, "failed", line, transfer=report["transfer"], reason=outcome.error)
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()
    else:
        common.console.print(line, markup=False, highlight=False)
