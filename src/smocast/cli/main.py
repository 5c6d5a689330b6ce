"""Entry point of the ``smocast`` command: one sub-command per module.

Each module in ``COMMANDS`` exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a function taking the parsed arguments and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from smocast import __version__
from smocast.cli.common import EXIT_USAGE, CommandError, HelpFormatter, err_console
from smocast.core.errors import SmocastError

COMMANDS = (
    "smocast.cli.demo_cmd",
    "smocast.cli.send_cmd",
    "smocast.cli.recv_cmd",
    "smocast.cli.stream_cmd",
    "smocast.cli.relay_cmd",
    "smocast.cli.sim_cmd",
    "smocast.cli.bench_cmd",
    "smocast.cli.testbed_cmd",
    "smocast.cli.model_cmd",
    "smocast.cli.repro_cmd",
)

DESCRIPTION = """\
Reliable one-to-many delivery over IP multicast: TCP-SMO in user space, the classic
reliable multicast protocol classes, their analytic model, and a deterministic simulator.

Start with:
  smocast demo                          send a file to 8 local receivers and verify it
  smocast sim transfer --receivers 100  simulate a transfer to 100 receivers
  smocast <command> --help              every command explains its options
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smocast", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"smocast {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except CommandError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        return exc.code
    except SmocastError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
