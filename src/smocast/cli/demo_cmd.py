"""``smocast demo``: the main job, needing no configuration and no root."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli import sim_transfer
from smocast.cli.common import HelpFormatter, console, print_json
from smocast.sim.transfer import TransferSpec, run_transfer

DESCRIPTION = """\
Send a generated file to many receivers and verify every copy by SHA-256.

This version runs the transfer in the simulator: 100 receivers, 4 MiB, 1% loss.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("demo", help="send a file to many receivers and verify every copy",
                              description=DESCRIPTION, formatter_class=HelpFormatter)
    p.add_argument("--receivers", type=int, default=100)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from smocast.sim.topology import PathSpec  # noqa: PLC0415

    spec = TransferSpec(receivers=args.receivers, size=4 << 20, path=PathSpec(loss=0.01), seed=1)
    if not args.json:
        console.print(f"simulating TCP-SMO: 4 MiB to {args.receivers} receivers, 1% loss on each path")
    result = run_transfer(spec)
    report = result.as_json() | {"transport": "simulated"}
    if args.json:
        print_json(report)
    else:
        sim_transfer._summary(report)
    return 0 if report["all_identical"] and report["completed"] == report["receivers"] else 1
