"""``smocast recv --fallback``: when the server (a relay, say) dies, resume the file at the next one.

``recv_cmd`` adds the options; ``recv_run`` calls :func:`receive` when ``--fallback`` is given.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from smocast.aio.errors import NetworkError
from smocast.apps.filetransfer import ReceivedFile, Server, parse_server, receive_file_with_fallback
from smocast.cli import common
from smocast.cli.common import EXIT_USAGE, fail
from smocast.cli.transfer_ui import TransferProgress
from smocast.core.errors import ConfigError
from smocast.logs import RECEIVER, log_line
from smocast.text import plain

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity


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


async def receive(args: argparse.Namespace, secure: bool, security: ReceiverSecurity | None) -> ReceivedFile:
    """Receive the file from the first server that lasts; say on stderr each time it fails over."""
    chain = servers(args)

    def notice(server: Server, error: NetworkError) -> None:
        log_line(
            RECEIVER,
            logging.WARNING,
            "resumed",
            f"{server} failed ({error}); resuming at the next server",
            server=str(server),
            reason=str(error),
        )
        if not args.json:
            common.err_console.print(f"[yellow]{plain(server)} failed[/] ({plain(error)}); resuming at the next server")

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
            secure=secure,
            security=security,
        )
