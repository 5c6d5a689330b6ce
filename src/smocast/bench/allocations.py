"""Count the interpreter's object allocations in a child process, around one stretch of its work.

Python 3.11 keeps no cumulative count of allocations, so this counts calls to the interpreter's
``PyObject_Malloc`` with a Linux uprobe, read by ``perf stat``: :func:`run_counted` adds the probe
(in a group of its own, so parallel runs never share or delete each other's), starts the child
under ``perf stat`` with the event disabled, and removes the probe afterwards, also on errors.
The child turns counting on and off itself: it writes ``enable\\n`` to the fifo named in
``SMOCAST_PERF_CONTROL`` and reads the acknowledgement from ``SMOCAST_PERF_ACK`` before the
stretch to count, and ``disable\\n`` after it (see ``receive_core_child.py``).

Needs root and ``perf`` with uprobes (Debian: ``apt install linux-perf``); :func:`check_ready`
says what is missing. A uprobe costs a trip through the kernel per allocation, so a counted run
is far slower than a plain one: never time it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

CONTROL_ENV = "SMOCAST_PERF_CONTROL"
ACK_ENV = "SMOCAST_PERF_ACK"
SYMBOL = "PyObject_Malloc"
INSTALL_HINT = "install perf (Debian: apt install linux-perf)"

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class AllocationCountError(RuntimeError):
    """Allocations cannot be counted here; the message says why and what to do."""


def check_ready(which: Callable[[str], str | None] = shutil.which, euid: Callable[[], int] = os.geteuid) -> str:
    """The path of ``perf``, or :class:`AllocationCountError` naming what is missing."""
    perf = which("perf")
    if perf is None:
        raise AllocationCountError(f"counting allocations needs perf, which is not on PATH: {INSTALL_HINT}")
    if euid() != 0:
        raise AllocationCountError("counting allocations needs root (perf adds a uprobe to the interpreter)")
    return perf


def interpreter_object(maps: str, executable: str) -> str:
    """The file holding ``PyObject_Malloc``: the ``libpython*.so*`` in ``maps`` (the text of
    ``/proc/<pid>/maps``), else the executable itself (an interpreter linked statically)."""
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and Path(fields[5]).name.startswith("libpython") and ".so" in fields[5]:
            return fields[5]
    return executable


def parse_count(text: str, event: str) -> int:
    """The count of ``event`` in the CSV that ``perf stat -x,`` wrote (its first field)."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) >= 3 and fields[2] == event:
            value = fields[0].strip()
            if value.isdigit():
                return int(value)
            raise AllocationCountError(f"perf did not count {event}: {value or 'empty'} (are uprobes enabled?)")
    raise AllocationCountError(f"perf's output has no line for {event}: {text.strip()[-300:]!r}")


def _perf(perf: str, args: Sequence[str], runner: Runner) -> subprocess.CompletedProcess[str]:
    return runner([perf, *args], capture_output=True, text=True, check=False)


@contextmanager
def probe(perf: str, object_file: str, runner: Runner = subprocess.run) -> Iterator[str]:
    """A uprobe on ``PyObject_Malloc`` in ``object_file`` while the block runs; yields its event
    name (``group:pymalloc``, the group unique to this process) and deletes it on the way out."""
    group = f"smocast{os.getpid()}"
    event = f"{group}:pymalloc"
    added = _perf(perf, ["probe", "-q", "-x", object_file, "-a", f"{event}={SYMBOL}"], runner)
    if added.returncode != 0:
        reason = added.stderr.strip()[-300:] or f"exit status {added.returncode}"
        raise AllocationCountError(f"perf could not add a uprobe on {SYMBOL} in {object_file}: {reason}")
    try:
        yield event
    finally:
        _perf(perf, ["probe", "-q", "-d", f"{group}:*"], runner)


def counting_command(perf: str, event: str, out: str, control: str, ack: str, argv: Sequence[str]) -> list[str]:
    """``argv`` under ``perf stat``, the event disabled until the child enables it."""
    return [perf, "stat", "-x,", "-o", out, "-e", event, "-D", "-1", "--control", f"fifo:{control},{ack}", "--", *argv]


def run_counted(
    argv: Sequence[str], env: dict[str, str], runner: Runner = subprocess.run
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``argv`` (a Python child of this interpreter that sends ``enable``/``disable``, see the
    module's note) under ``perf stat``; its completed process and the allocations it enabled.
    The caller checks the child's exit status and reads its output."""
    perf = check_ready()
    object_file = interpreter_object(Path("/proc/self/maps").read_text(), sys.executable)
    with tempfile.TemporaryDirectory(prefix="smocast-perf-") as folder:
        control, ack, out = (str(Path(folder) / name) for name in ("control", "ack", "stat.csv"))
        os.mkfifo(control)
        os.mkfifo(ack)
        with probe(perf, object_file, runner) as event:
            command = counting_command(perf, event, out, control, ack, argv)
            child_env = dict(env, **{CONTROL_ENV: control, ACK_ENV: ack})
            done = runner(command, env=child_env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return done, 0
            if not Path(out).exists():
                raise AllocationCountError(f"perf stat wrote no counts: {done.stderr.strip()[-300:]}")
            return done, parse_count(Path(out).read_text(), event)
