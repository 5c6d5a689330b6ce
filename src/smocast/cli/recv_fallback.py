"""``smocast recv --fallback``: the servers to take the stream from, in order.

``recv_cmd`` adds the options; ``recv_run`` receives from :func:`servers` when
``--fallback`` is given: when the server (a relay, say) dies, the next one takes over at the
last byte received.
"""

from __future__ import annotations

import argparse

from smocast.apps.filetransfer import Server, parse_server
from smocast.cli.common import EXIT_USAGE, fail
from smocast.core.errors import ConfigError


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
