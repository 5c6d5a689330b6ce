"""Text from the wire (or any peer) made safe to print: nothing in it is interpreted by the terminal.

A reason string in an RST, a file name in a manifest, an error message quoting either: each
may hold terminal control sequences (ESC, BEL, carriage return, bidirectional overrides) or
``rich`` markup (``[red]``, ``[link=...]``). Every place that prints such text passes it
through :func:`plain` (for ``rich`` output) or :func:`printable` (for plain-text output such
as log lines), so it shows as the characters it is, never as formatting.
"""

from __future__ import annotations

import re

_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL: ESC sequences, BEL, CR, backspace
    "\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"  # zero-width, bidi, separators
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` with every control, zero-width and bidirectional character shown as an escape (``\\x1b``)."""
    return _UNPRINTABLE.sub(_escape_char, str(text))


def plain(text: object) -> str:
    """``text`` ready to embed in ``rich`` markup: escaped as :func:`printable`, and ``[...]`` not a tag.

    It renders as ``printable(text)`` wherever it stands in the markup, except that a final
    backslash shows as ``\x5c`` (rich reads a backslash at the end as escaping whatever
    follows). Consoles printing it must not expand emoji codes (``emoji=False``), or an
    address such as ``fd00:1234:...`` would show a picture.
    """
    from rich.markup import escape  # noqa: PLC0415  (only loaded by output that uses rich anyway)

    shown = printable(text)
    if shown.endswith("\\"):
        shown = shown[:-1] + "\\x5c"
    return _SLASHED_BRACKET.sub(r"\\\g<0>", escape(shown))


_SLASHED_BRACKET = re.compile(r"\\+\[(?![a-z#/@][^[]*?\])")
"""Backslashes before a ``[`` that starts no tag: ``escape`` leaves them, and rich then reads the
last one as escaping the ``[`` and drops it; one more backslash keeps them all."""
