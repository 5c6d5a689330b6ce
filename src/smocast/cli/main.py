"""Entry point of the ``smocast`` command: one sub-command per module.

Each module in ``COMMANDS`` exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a function taking the parsed arguments and returning an exit code). The command
named ``X`` lives in ``smocast.cli.X_cmd``. Only the module of the command being run is
imported (all of them for the top-level help), and parser modules stay light: a handler
loads what it needs when it runs (:func:`~smocast.cli.common.deferred`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from smocast import __version__
from smocast.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    HelpFormatter,
    all_parsers,
    freeze_imports,
    leaf_parsers,
    program_exit,
)
from smocast.cli.errors import classify, message_of, report, usage_json

COMMANDS = (
    "smocast.cli.demo_cmd",
    "smocast.cli.send_cmd",
    "smocast.cli.recv_cmd",
    "smocast.cli.recvd_cmd",
    "smocast.cli.stream_cmd",
    "smocast.cli.relay_cmd",
    "smocast.cli.sim_cmd",
    "smocast.cli.bench_cmd",
    "smocast.cli.testbed_cmd",
    "smocast.cli.model_cmd",
    "smocast.cli.keygen_cmd",
    "smocast.cli.key_cmd",
    "smocast.cli.repro_cmd",
)

DESCRIPTION = """\
Reliable one-to-many delivery over IP multicast: TCP-SMO in user space, the classic
reliable multicast protocol classes, their analytic model, and a deterministic simulator.

examples:
  smocast demo                          send a file to 8 local receivers and verify it
  smocast sim transfer --receivers 100  simulate a transfer to 100 receivers
  smocast <command> --help              every command explains its options

exit status: 0 success, 1 the run failed, 2 bad command line or setting, 130 interrupted
(docs/cli.md lists the error kinds; with --json a failure also prints {"error": {...}}).
"""

LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """A command-line error, raised by the parser that found it (so its own usage is shown)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors reach :func:`main` instead of exiting on the spot."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)


def command_name(module: str) -> str:
    """``smocast.cli.recv_cmd`` -> ``recv``."""
    return module.rsplit(".", 1)[-1].removesuffix("_cmd")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of ``argv``'s command alone when it names one; else of every command."""
    parser = Parser(prog="smocast", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"smocast {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="<command>")
    args = list(argv or ())
    wanted = next((a for a in args if not a.startswith("-")), None)
    chosen = [m for m in COMMANDS if command_name(m) == wanted] or list(COMMANDS)
    if wanted is None and "--version" in args:
        chosen = []  # the version needs no command's parser
    for name in chosen:
        importlib.import_module(name).register(subparsers)
    for _, leaf in leaf_parsers(parser):
        if leaf is not parser:
            add_log_options(leaf)
    for each in all_parsers(parser):
        each.set_defaults(_parser=each)  # the innermost parser that parsed wins: its usage is shown
    return parser


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """``--log-level``, ``--log-file`` and ``--log-format``, on every command."""
    group = parser.add_argument_group("logging (one line per event: joined, dropped, completed, ...)")
    group.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="warning",
        help="the least important events to log (info: every receiver's join, drop and completion)",
    )
    group.add_argument("--log-file", default=None, metavar="FILE", help="append log lines to FILE instead of stderr")
    group.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="text lines, or one JSON object per line"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = _parse(parser, argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    as_json = bool(getattr(args, "json", False))
    try:
        _start_logging(args)
        return int(handler(args) or 0)
    except CommandError as exc:
        return report(str(exc), exc.kind, exc.code, as_json=as_json)
    except KeyboardInterrupt:
        return report("interrupted", "interrupted", EXIT_INTERRUPTED, as_json=as_json)
    except Exception as exc:
        kind, code = classify(exc)
        if kind == "failure" and not _ours(exc):
            raise
        return report(message_of(exc), kind, code, as_json=as_json)


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv``; a usage error prints the usage of the (sub-)command at fault and exits 2."""
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:
            leaf: argparse.ArgumentParser = getattr(args, "_parser", parser)
            leaf.error(f"unrecognized arguments: {' '.join(extras)}")
    except UsageError as exc:
        exc.parser.print_usage(sys.stderr)
        sys.stderr.write(f"{exc.parser.prog}: error: {exc}\n")
        if "--json" in argv:
            usage_json(f"{exc.parser.prog}: {exc}")
        raise SystemExit(EXIT_USAGE) from None
    return args


def _start_logging(args: argparse.Namespace) -> None:
    if not hasattr(args, "log_level"):
        return
    from smocast.logs import setup_logging  # noqa: PLC0415

    try:
        setup_logging(args.log_level, args.log_file, args.log_format)
    except OSError as exc:
        raise CommandError(f"cannot write the log file {args.log_file}: {exc.strerror}", kind="file") from None


def _ours(exc: BaseException) -> bool:
    """True for the errors smocast raises on purpose (and OS errors): a bug elsewhere keeps its traceback."""
    return any(cls.__name__ == "SmocastError" for cls in type(exc).__mro__)


def run() -> None:
    """The ``smocast`` program: :func:`main` with this process's arguments, then its exit.

    What its start-up imports is frozen out of the collector's way (:func:`freeze_imports`).
    """
    freeze_imports()
    program_exit(main())


if __name__ == "__main__":
    run()
