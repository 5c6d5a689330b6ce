"""How a command's failure is reported: one line on stderr, one JSON object with ``--json``, one exit code.

Every command ends through :func:`report`, so the same error gives the same words, the same
``kind`` and the same exit status on ``send``, ``recv``, ``stream`` and ``relay`` alike:

====  ======================  ==========================================================
code  kind                    meaning
====  ======================  ==========================================================
0                             success
1     network                 a socket failed: bind, join, route, unknown host
1     connect-failed          the source never answered, or refused the connection
1     reset                   the source reset this receiver (dropped it, refused a late join)
1     file                    a file could not be read, written or verified
1     testbed                 building or running the namespace testbed failed
1     timeout                 too few receivers joined in time
1     failure                 any other failure of the run (not every receiver completed...)
2     usage                   a bad command line or setting: unknown option, bad value,
                              a group that is not multicast, an unknown interface
130   interrupted             Ctrl-C
====  ======================  ==========================================================

The table is kept in ``docs/cli.md``; a test compares the two.
"""

from __future__ import annotations

import json
import sys

from smocast.cli.common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_USAGE

EXIT_CODES: dict[str, int] = {
    "network": EXIT_FAILURE,
    "connect-failed": EXIT_FAILURE,
    "reset": EXIT_FAILURE,
    "file": EXIT_FAILURE,
    "testbed": EXIT_FAILURE,
    "timeout": EXIT_FAILURE,
    "failure": EXIT_FAILURE,
    "usage": EXIT_USAGE,
    "interrupted": EXIT_INTERRUPTED,
}
"""Every kind of error and its exit code (the table above)."""

_KIND_OF_CLASS: tuple[tuple[str, str], ...] = (
    ("ConnectFailedError", "connect-failed"),
    ("ResetError", "reset"),
    ("NetworkError", "network"),
    ("FileTransferError", "file"),
    ("ManifestError", "file"),
    ("KeyFileError", "file"),
    ("TrustFileError", "file"),
    ("OutputError", "file"),
    ("SourceError", "file"),
    ("TestbedError", "testbed"),
    ("ConfigError", "usage"),
    ("OSError", "file"),
    ("SmocastError", "failure"),
)
"""By the name of a class in the error's MRO, most specific first: classifying an error never
imports the module that defines it (the runtime stays unloaded for commands that never used it)."""


def classify(exc: BaseException) -> tuple[str, int]:
    """The ``(kind, exit code)`` of an exception a command let through."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, kind in _KIND_OF_CLASS:
        if name in names:
            return kind, EXIT_CODES[kind]
    return "failure", EXIT_FAILURE


def message_of(exc: BaseException) -> str:
    """The one-line message of ``exc`` (an ``OSError`` says what and which file)."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def report(message: str, kind: str, code: int, *, as_json: bool) -> int:
    """Print ``error: message`` on stderr (and the JSON error object on stdout); return ``code``.

    The message may quote the wire (a reset's reason): it is printed as plain text. On a
    terminal ``error:`` is red (through ``rich``); elsewhere the line is written as it is,
    without loading ``rich`` at all.
    """
    from smocast.text import plain, printable  # noqa: PLC0415

    if "smocast.logs" in sys.modules:  # logging was set up: a log file gets the error too
        sys.modules["smocast.logs"].log_failure(message, kind)
    if sys.stderr.isatty():
        from smocast.cli.common import err_console  # noqa: PLC0415  (rich loads only to colour the line)

        err_console.print(f"[bold red]error:[/] {plain(message)}")
    else:
        sys.stderr.write(f"error: {printable(message)}\n")
        sys.stderr.flush()
    if as_json:
        obj = {"error": {"kind": kind, "message": message, "exit_code": code}}
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()
    return code


def usage_json(message: str) -> None:
    """The JSON error object of a command-line error (argparse prints the text itself)."""
    obj = {"error": {"kind": "usage", "message": message, "exit_code": EXIT_USAGE}}
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
