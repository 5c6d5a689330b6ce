"""Running ``smocast`` commands as separate processes on loopback, and reading what they print."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from smocast.aio.sockets import port_in_use

RUN_LIMIT = 120.0  # seconds any one command may run before a test gives up on it


class Commands:
    """Starts commands and kills every one still running at the end (use :func:`commands`)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *argv: str, stdin: Any = None) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "smocast.cli.main", *argv],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(proc)
        return proc

    def sender(self, net: Any, *argv: str) -> subprocess.Popen[str]:
        """``smocast send ARGV`` bound to ``net.server``; returns once its port is bound."""
        proc = self.start("send", *argv, "--group", net.group_text, "--bind", net.server_text, "--json")
        deadline = time.monotonic() + 20
        while not port_in_use(net.server):
            if proc.poll() == 0:
                break  # it bound, sent and finished before this loop looked
            assert proc.poll() is None, f"the sender exited: {proc.communicate()[1]}"
            assert time.monotonic() < deadline, "the sender did not bind its port"
            time.sleep(0.02)
        return proc


@contextmanager
def commands() -> Iterator[Commands]:
    running = Commands()
    try:
        yield running
    finally:
        for proc in running.started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


def finish(proc: subprocess.Popen[str]) -> tuple[int, Any, str]:
    """Wait for ``proc``; its exit code, its JSON (None if it printed none) and its stderr."""
    out, err = proc.communicate(timeout=RUN_LIMIT)
    try:
        report = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        report = [json.loads(line) for line in out.splitlines() if line.strip()]
    return proc.returncode, report, err


def recv(running: Commands, net: Any, out: Path, *options: str) -> subprocess.Popen[str]:
    out.mkdir(exist_ok=True)
    return running.start(
        "recv", "--server", net.server_text, "--group", net.group_text, "-o", str(out), "--json", *options
    )


def finish_lines(proc: subprocess.Popen[str]) -> tuple[int, list[Any], str]:
    """Wait for ``proc``, which prints one JSON object per line; exit code, the objects, stderr."""
    out, err = proc.communicate(timeout=RUN_LIMIT)
    return proc.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err
