"""``smocast sim ...``: runs in the deterministic simulator."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli import sim_classes, sim_relay, sim_stream, sim_transfer
from smocast.cli.common import HelpFormatter, show_help

DESCRIPTION = """\
Run protocols in the deterministic discrete-event simulator. The simulator drives the
same protocol objects as the real network; the same --seed gives the same result.
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="run protocols in the deterministic simulator",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    group = parser.add_subparsers(title="simulations", metavar="<simulation>")
    sim_transfer.register(group)
    sim_stream.register(group)
    sim_relay.register(group)
    sim_classes.register(group)
    parser.set_defaults(handler=show_help(parser))
