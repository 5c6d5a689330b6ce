"""``smocast recv --fallback``: when the server (a relay, say) dies, resume the file at the next one."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.aio.errors import NetworkError
from smocast.apps.filetransfer import ReceivedFile, Server, parse_server, receive_file_with_fallback
from smocast.cli.common import EXIT_USAGE, duration_arg, err_console, fail
from smocast.cli.transfer_ui import TransferProgress
from smocast.core.errors import ConfigError


def add_arguments(p: Any) -> None:
    """Add ``--fallback`` and ``--source-timeout`` to the ``recv`` parser."""
    p.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="HOST:PORT[@GROUP:PORT],...",
        help="servers to fail over to, in order, when the server dies or resets this receiver; each "
        "resumes at the last byte received (from a relay's history). The group defaults to "
        "--group. Repeatable",
    )
    p.add_argument(
        "--source-timeout",
        type=duration_arg,
        default="3s",
        help="with --fallback: give a server up after this much silence (sources heartbeat every second)",
    )


def servers(args: argparse.Namespace) -> list[Server]:
    """The server, then every fallback, in the order given."""
    if args.source is not None:
        fail("--source names one server's SSM source; with --fallback each server is its own source", EXIT_USAGE)
    chain = [Server(args.server, args.group)]
    try:
        for text in args.fallback:
            chain.extend(parse_server(part, args.group) for part in text.split(",") if part.strip())
    except ConfigError as exc:
        fail(f"--fallback: {exc}", EXIT_USAGE)
    return chain


async def receive(args: argparse.Namespace) -> ReceivedFile:
    """Receive the file from the first server that lasts; say on stderr each time it fails over."""
    chain = servers(args)

    def notice(server: Server, error: NetworkError) -> None:
        if not args.json:
            err_console.print(f"[yellow]{server} failed[/] ({error}); resuming at the next server")

    with TransferProgress("receiving", 0, enabled=not args.json) as ui:
        return await receive_file_with_fallback(
            chain,
            args.output,
            progress=ui.update,
            on_failover=notice,
            interface=args.interface,
            timeout=args.timeout,
            idle_timeout=args.idle_timeout or None,
            source_timeout=args.source_timeout,
        )
