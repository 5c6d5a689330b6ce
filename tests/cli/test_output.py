"""Output without a terminal (no cut addresses, no wrapped reasons, no stray blank lines), and wire text
printed as the characters it is."""

from __future__ import annotations

import io
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from smocast.aio.channel import ReceiverRecord
from smocast.cli import common
from smocast.cli.main import main
from smocast.cli.receivers_view import receiver_rows, receivers_table
from smocast.cli.units import Units
from smocast.text import plain, printable

LONG_REASON = "no-progress: " + " ".join(f"word{i}" for i in range(60))
LONG_ADDRESS = ("fd00:1234:5678:9abc:def0:1234:5678:9abc", 65535)


def fresh_console(monkeypatch: pytest.MonkeyPatch) -> Console:
    """``common.console`` made now, for the stdout pytest captured (not a terminal)."""
    monkeypatch.delitem(common.__dict__, "console", raising=False)
    made: Console = common.console
    monkeypatch.delitem(common.__dict__, "console")
    return made


def test_a_table_off_a_terminal_cuts_no_address_and_wraps_no_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record = ReceiverRecord(7, LONG_ADDRESS, "dropped", joined_at=0.0, ended_at=1.0, acked=1 << 20, reason=LONG_REASON)
    table = receivers_table(
        receiver_rows([record], [], 1.0), sort="acked", top=5, units=Units("MiB"), mss=1400, title="receivers"
    )
    fresh_console(monkeypatch).print(table)
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("│ 7 ")]
    assert f"[{LONG_ADDRESS[0]}]:{LONG_ADDRESS[1]}" in row and LONG_REASON in row  # IPv6 in brackets, shown whole
    assert "…" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["sim", "transfer", "--receivers", "5", "--size", "64K"],
        ["sim", "relay", "--receivers", "30", "--relays", "2", "--size", "64K"],
        ["sim", "theorem2"],
        ["model", "throughput", "--classes", "A,H2", "--p", "0.1", "--receivers", "10,100"],
        ["model", "supportable", "--classes", "A,N2", "--p", "0.1", "--speeds", "1,2"],
    ],
)
def test_no_stray_blank_lines_or_trailing_blanks_off_a_terminal(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(common.__dict__, "console", raising=False)
    try:
        main(argv)
    finally:
        monkeypatch.delitem(common.__dict__, "console", raising=False)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines and all(line.strip() for line in lines), out
    assert not [line for line in lines if line != line.rstrip()]


def test_printable_escapes_every_control_and_invisible_character() -> None:
    assert printable("a\x1b[31mb\x07\r\n\x00\x7f\x85") == "a\\x1b[31mb\\x07\\x0d\\x0a\\x00\\x7f\\x85"
    assert printable("x\u202eevil\u200b") == "x\\u202eevil\\u200b"
    assert printable("plain text: 10.0.0.1:5000 [ok]") == "plain text: 10.0.0.1:5000 [ok]"


def rendered(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=10_000, color_system=None, highlight=False, emoji=False, soft_wrap=True).print(
        markup, end=""
    )
    return out.getvalue()


def expected(text: str) -> str:
    """What wire text shows as: its printable form, a final backslash as ``\\x5c``."""
    shown = printable(text)
    return shown[:-1] + "\\x5c" if shown.endswith("\\") else shown


@given(st.text(max_size=80), st.sampled_from(["{}", "[red]{}[/]", "x {} y", "{}[bold]z[/]"]))
@example("\\[", "{}")  # a backslash before a "[" that starts no tag: rich dropped it
@example("a\\\\[x", "[red]{}[/]")
def test_wire_text_prints_as_exactly_its_printable_form(text: str, template: str) -> None:
    shown = rendered(template.format(plain(text)))
    assert shown == template.replace("[red]", "").replace("[bold]", "").replace("[/]", "").format(expected(text))
    assert not any(unicodedata.category(c) == "Cc" for c in shown)


@pytest.mark.parametrize(
    "text", ["[bold red]gotcha[/]", "[link=http://x]click[/link]", "[/]", "\\[x]", ":1234: :smile:", "a\\\\[b]"]
)
def test_markup_in_wire_text_stays_literal(text: str) -> None:
    assert rendered(plain(text)) == text
    assert rendered(f"[red]{plain(text)}[/]") == text


def test_a_final_backslash_shows_as_an_escape() -> None:
    shown = plain("dir\\")
    assert rendered(shown) == "dir\\x5c" == rendered(f"[red]{shown}[/]")
