"""The progress bar of ``smocast send`` and ``smocast recv`` is drawn only for a person at a terminal."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from smocast.cli.transfer_ui import TransferProgress

SCRIPT = """
import sys
from smocast.cli.transfer_ui import TransferProgress
with TransferProgress("receiving", 10, enabled=True) as ui:
    ui.update(5)
print(ui.shown, "rich.progress" in sys.modules)
"""


def test_no_bar_and_no_rich_when_stderr_is_a_pipe() -> None:
    """A bar is transient: on a pipe or in a file it shows nothing, and importing rich and
    running its refresh thread would cost a receiver start-up CPU and wake-ups for nothing."""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
    assert done.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("TERM", "xterm")
    assert TransferProgress("receiving", 10, enabled=True).shown
    assert not TransferProgress("receiving", 10, enabled=False).shown  # --json


def test_a_dumb_terminal_gets_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    monkeypatch.setenv("TERM", "dumb")
    assert not TransferProgress("receiving", 10, enabled=True).shown
