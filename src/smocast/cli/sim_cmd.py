"""``smocast sim ...``: runs in the deterministic simulator (parsers only; each run loads the simulator)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import HelpFormatter, show_help
from smocast.cli.sim_args import register_relay, register_stream, register_transfer
from smocast.cli.sim_classes_args import register_classes, register_theorem2

DESCRIPTION = """\
Run protocols in the deterministic discrete-event simulator. The simulator drives the
same protocol objects as the real network; the same --seed gives the same result.

examples:
  smocast sim transfer --receivers 1000 --size 4M --loss 0.02
  smocast sim stream --loss 0.02,0.04,0.06,0.08,0.10 --plot figure7.png
  smocast sim relay --levels 2 --relays 3 --receivers 2300
  smocast sim classes --receivers 10,100 --loss 0.1
  smocast sim theorem2
  smocast sim <simulation> --help       the options of one simulation
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim",
        help="run protocols in the deterministic simulator",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    group = parser.add_subparsers(title="simulations", metavar="<simulation>")
    register_transfer(group)
    register_stream(group)
    register_relay(group)
    register_classes(group)
    register_theorem2(group)
    parser.set_defaults(handler=show_help(parser))
