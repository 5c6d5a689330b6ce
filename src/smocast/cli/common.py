"""Shared plumbing of the command line: output, errors, argument types, and deferred handlers.

This module stays light on purpose: every command imports it to build its parser, so it
loads neither ``rich`` nor the runtime. The consoles ``console`` (stdout) and
``err_console`` (stderr) are made on first use (``from smocast.cli.common import console``
makes it then); a command whose ``--json`` run must stay light reads ``common.console``
only where it prints.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn, cast

from smocast.core.errors import ConfigError
from smocast.core.units import parse_duration, parse_rate, parse_size

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
NO_TTY_WIDTH = 4096
"""Columns a console uses when its stream is not a terminal: long enough that no address is
cut and no reason is wrapped (a pipe or a file has no width)."""

Handler = Callable[[argparse.Namespace], int]
_TRAILING_BLANKS = re.compile(r"[ \t]+\n")


class CommandError(Exception):
    """A failure to report as one short line, with its kind (for ``--json``) and exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE, kind: str = "failure") -> None:
        super().__init__(message)
        self.code = code
        self.kind = kind


def fail(message: str, code: int = EXIT_FAILURE, kind: str | None = None) -> NoReturn:
    """Stop the command with ``message``; ``kind`` defaults to ``usage`` for code 2, else ``failure``."""
    raise CommandError(message, code, kind or ("usage" if code == EXIT_USAGE else "failure"))


def check_baseline_src(baseline_src: str | None) -> None:
    """A usage error (exit 2) unless ``--baseline-src`` is absent or holds a ``smocast`` package."""
    from pathlib import Path  # noqa: PLC0415  (only the benchmarks that take --baseline-src need it)

    if baseline_src is not None and not Path(baseline_src, "smocast").is_dir():
        fail(f"--baseline-src {baseline_src}: no smocast package in it", EXIT_USAGE)


def print_json(obj: Any) -> None:
    """Print one JSON object on stdout (machine-readable output)."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def is_terminal(stream: Any) -> bool:
    """True when ``stream`` is a terminal a person reads (not a pipe, a file, or ``TERM=dumb``)."""
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def _make_console(stderr: bool) -> Console:
    """A terminal gets rich's defaults; a pipe or a file gets a wide page, no wrapping, and lines
    without the trailing blanks that table cells are padded with."""
    from rich.console import Console  # noqa: PLC0415  (rich loads only when something is printed)
    from rich.segment import Segment  # noqa: PLC0415

    class PlainConsole(Console):
        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            return _TRAILING_BLANKS.sub("\n", super()._render_buffer(buffer))

    if is_terminal(sys.stderr if stderr else sys.stdout):
        return Console(stderr=stderr, highlight=False, emoji=False, soft_wrap=stderr)
    return PlainConsole(stderr=stderr, highlight=False, emoji=False, soft_wrap=True, width=NO_TTY_WIDTH)


def __getattr__(name: str) -> Any:
    """Make ``console`` and ``err_console`` on first use."""
    if name in ("console", "err_console"):
        made = _make_console(stderr=name == "err_console")
        globals()[name] = made
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def asyncio_without_tls() -> None:
    """Make the first ``import asyncio`` of this process load no ``ssl``: no command speaks TLS.

    asyncio imports ``ssl`` only in case a program opens a TLS connection (about a tenth of
    its import's CPU). Once asyncio is loaded without it, asyncio refuses TLS in this process;
    ``import ssl`` itself still works. The commands load the runtime through here: parsing a
    group (:func:`group_arg`) and ``deferred(..., receiver=True)`` (``recv``, ``recvd``) call it
    first. Where asyncio or ssl is loaded already (an embedding program, a test), it does
    nothing.
    """
    if "asyncio" in sys.modules or "ssl" in sys.modules:
        return
    sys.modules["ssl"] = None  # type: ignore[assignment]  # what a Python built without ssl has
    try:
        load("asyncio")
    finally:
        del sys.modules["ssl"]


class _QuickExit:
    """Whether the program may end without the interpreter's teardown (see :func:`program_exit`)."""

    allowed = False


def program_exit(code: int) -> None:
    """End the ``smocast`` program with ``code``; a receiver's process skips the interpreter's teardown.

    A receiver process (``recv``, ``recvd``: started once per receiver) ends as a normal exit
    would, through the ``atexit`` functions (logging's flush and close among them) and a
    flush of stdout and stderr, then leaves with ``os._exit``: the interpreter does not free
    its few hundred modules one object at a time (about a tenth of such a process's CPU);
    the kernel reclaims the memory at once. Other commands, and any run under a profiler or a
    tracer (whose report is written at the normal exit), exit normally (``sys.exit``).
    """
    if not _QuickExit.allowed or sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe loses nothing more than at a normal exit
            stream.flush()
    os._exit(code)


class _Imports:
    """Whether :func:`paused_gc` also freezes what it imported (the program does: :func:`freeze_imports`)."""

    frozen = False


def freeze_imports() -> None:
    """From now on, the objects alive when a :func:`paused_gc` block ends are moved out of the collector's way.

    For the ``smocast`` program (:func:`smocast.cli.main.run`), not for a caller of
    :func:`smocast.cli.main.main` in its own process: what the imports make (modules,
    functions, classes) lives as long as the program, yet the first collection after each
    paused block walked all of it (about 1 ms a block, five blocks in a receiver's start-up).
    ``gc.freeze`` keeps it alive without walking it again; the cost is that a cycle of garbage
    alive at that moment is never freed (a start-up makes few).
    """
    _Imports.frozen = True


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block of imports; its state is restored after.

    An import allocates mostly what lives as long as the process (functions, classes), and
    the collector's passes over a growing heap of them find nothing to free: a few percent of
    a command's start-up. After :func:`freeze_imports`, what is alive at the end of the block
    is frozen (``gc.freeze``) before the collector resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _Imports.frozen:
            gc.freeze()
        if enabled:
            gc.enable()


def load(module: str) -> ModuleType:
    """Import ``module`` with the garbage collector paused (:func:`paused_gc`)."""
    with paused_gc():
        return importlib.import_module(module)


def deferred(module: str, function: str = "run", *, receiver: bool = False) -> Handler:
    """A handler that imports ``module`` only when the command runs, then calls ``function(args)``.

    Parsers are built from light modules; the code that runs (and what it imports: the
    runtime, the simulator, plotting) loads only for the command the user asked for.
    ``receiver``: the command is a receiver's process (started once per receiver), so its
    start-up and its end are kept short: asyncio loads without ``ssl``
    (:func:`asyncio_without_tls`), and the program ends without the interpreter's teardown
    (:func:`program_exit`).
    """

    def handler(args: argparse.Namespace) -> int:
        if receiver:
            asyncio_without_tls()
            _QuickExit.allowed = True
        run: Handler = getattr(load(module), function)
        return run(args)

    handler.__qualname__ = f"deferred({module}:{function})"
    return handler


def leaf_parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every parser below ``parser`` that has no sub-commands, with its full program name."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        yield parser.prog, parser
        return
    for group in groups:
        seen: set[int] = set()
        for child in group.choices.values():
            if id(child) not in seen:  # aliases map to the same parser
                seen.add(id(child))
                yield from leaf_parsers(child)


def all_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every parser below it, groups included."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for child in action.choices.values():
                if id(child) not in seen:
                    seen.add(id(child))
                    yield from all_parsers(child)


def _argtype(parse: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = what
    return convert


size_arg = _argtype(parse_size, "size")
rate_arg = _argtype(parse_rate, "rate")
duration_arg = _argtype(parse_duration, "duration")


def address_arg(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``[IPV6]:PORT``) for argparse."""
    parse_address = load("smocast.aio.options").parse_address  # the runtime loads when a command runs
    try:
        return cast("tuple[str, int]", parse_address(text, "address"))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def group_arg(text: str) -> tuple[str, int]:
    """``GROUP:PORT`` (or ``[GROUP]:PORT`` for IPv6) for argparse: a multicast group and a port."""
    asyncio_without_tls()  # the socket helpers load asyncio: the runtime starts here
    check_group = load("smocast.aio.sockets").check_group

    group = address_arg(text)
    try:
        check_group(group)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return group


address_arg.__name__ = "HOST:PORT"
group_arg.__name__ = "GROUP:PORT"
INTERFACE_HELP = "interface to {what}: a name (eth0, lo) or one of its addresses (default: {default})"


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"a probability must be in [0, 1), got {value}")
    return value


def rate_fraction(text: str) -> float | None:
    """``--min-rate-fraction``: a fraction in (0, 1), or 0 (or ``off``) for no rate rule."""
    if text.strip().lower() in ("0", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (or 'off')") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"a fraction must be in [0, 1), got {value}")
    return value or None


MIN_RATE_HELP = (
    "too slow: a receiver that, while data waited for it, acknowledged less than this fraction of the "
    "channel's median rate over three progress timeouts in a row is dropped under the policy slowest "
    "and stops pacing under quorum and buffer; 0 or off turns the rule off"
)
PROGRESS_HELP = "drop a receiver that acknowledges nothing new and answers no retransmission for this long"


def add_drop_rules(p: Any, progress_timeout: str = "10s", progress_help: str = PROGRESS_HELP) -> None:
    """``--progress-timeout`` and ``--min-rate-fraction``: when a source gives up on a receiver."""
    p.add_argument("--progress-timeout", type=duration_arg, default=progress_timeout, help=progress_help)
    p.add_argument("--min-rate-fraction", type=rate_fraction, default="0.05", metavar="F", help=MIN_RATE_HELP)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def int_list(text: str) -> list[int]:
    """``10,100,1000`` -> [10, 100, 1000]."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"need positive whole numbers, got {text!r}")
    return values


def float_list(text: str) -> list[float]:
    """``0.01,0.1`` -> [0.01, 0.1]."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise argparse.ArgumentTypeError("need at least one number")
    return values


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the hand-written layout of descriptions and shows each option's default.

    Options that are required, or whose default is None, a plain switch's False or a
    repeatable option's empty list, show none: "(default: None)" teaches nothing.

    The width is the terminal's, as argparse's own (``COLUMNS``, else stdout's terminal, else
    80, less 2), found without ``shutil``: argparse makes a formatter for every option it adds,
    and ``shutil`` (with the compression modules it imports) is otherwise loaded by every
    command, a receiver's start-up included.
    """

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, terminal_columns() - 2 if width is None else width)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        empty = action.default is None or action.default is False or action.default == []
        if action.required or empty:
            return action.help
        return super()._get_help_string(action)


def terminal_columns(fallback: int = 80) -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``COLUMNS``, else stdout's, else ``fallback``."""
    with contextlib.suppress(ValueError):
        columns = int(os.environ.get("COLUMNS", "0"))
        if columns > 0:
            return columns
    try:
        columns = os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ is not None else 0
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else fallback


def show_help(parser: argparse.ArgumentParser) -> Handler:
    """A handler for a command group run without a sub-command: print its help, exit 2."""

    def handler(_args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    return handler
