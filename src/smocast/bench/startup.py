"""The CPU a ``smocast`` command spends before it does its job: the interpreter, the imports, the parser.

Each measured command runs as its own process (``python -m smocast.cli.main ...``), one at a
time, and its user+sys CPU comes from the kernel's accounting of children
(``getrusage(RUSAGE_CHILDREN)`` before and after). The cases are interleaved over the repeats,
so noise from other work on the machine spreads over all of them. A bare interpreter
(``python -c pass``) is measured in the same run as the floor nothing can go below.

With ``baseline_src`` (the ``src`` folder of another checkout), every case also runs against
that tree (through ``PYTHONPATH``), interleaved, and the report gives the ratio of this tree's
median to the baseline's: before and after in one run.

``python -X importtime`` of the same commands gives the import time by top-level module
(wall time in microseconds, from one run), to show where the rest goes.

The case ``recv, secure receive`` is a whole receive that a user pays for: a secure source of a
tiny file is started first (:mod:`smocast.bench.startup_secure`), and ``smocast recv --trust``
runs to the verified file. Its CPU is the start-up plus the handshake and a 1 KiB transfer; the
closed-port case stops before the handshake, so it cannot show what the secure mode loads.

Bytecode: an installed package has its ``.pyc`` files (pip compiles them at install; a checkout
writes them on its first run), so by default every child reads and writes its bytecode under a
temporary ``PYTHONPYCACHEPREFIX`` (no tree is written to), ``PYTHONDONTWRITEBYTECODE`` is
dropped from its environment, and each case runs once, unmeasured, before the measured runs.
With ``bytecode_cache=False`` the children inherit the environment as it is: where it sets
``PYTHONDONTWRITEBYTECODE`` and the tree has no ``__pycache__``, every run compiles every module
it imports from source, which no installed copy does.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.bench import startup_secure
from smocast.bench.machine import busy_fraction, machine_ticks

CLOSED_PORT_GROUP = "239.255.77.9"


@dataclass(frozen=True, slots=True)
class Case:
    """One command to start: its name in the report and its arguments after ``smocast``."""

    name: str
    argv: tuple[str, ...]
    baseline_argv: tuple[str, ...] | None = None  # for a baseline tree that predates an option
    secure_source: bool = False  # a secure source of a tiny file serves it; ``argv`` is then the receiver's own


SECURE_RECEIVE = Case("recv, secure receive", ("recv", "--json", "--trust", "FINGERPRINT"), secure_source=True)


def default_cases() -> list[Case]:
    """``recv --help``, ``recv`` against a closed port (ICMP refuses it at once), with ``--json`` and
    without (its stderr, a pipe, is not a terminal), a whole secure receive of a tiny file, ``send
    --help``, ``--version``."""
    port = _closed_port()
    server, group = f"127.0.0.1:{port}", f"{CLOSED_PORT_GROUP}:{port}"
    return [
        Case("recv --help", ("recv", "--help")),
        Case(
            "recv, closed port",
            ("recv", "--server", server, "--group", group, "--timeout", "2s", "--wait", "0", "--json"),
            ("recv", "--server", server, "--group", group, "--timeout", "2s", "--json"),  # before --wait
        ),
        Case(
            "recv, closed port, without --json",  # a script or a service: its stderr is not a terminal
            ("recv", "--server", server, "--group", group, "--timeout", "2s", "--wait", "0"),
            ("recv", "--server", server, "--group", group, "--timeout", "2s"),
        ),
        SECURE_RECEIVE,
        Case("send --help", ("send", "--help")),
        Case("--version", ("--version",)),
    ]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(src: str | None, pycache: str | None = None) -> dict[str, str]:
    """The children's environment: ``src`` first on the path; bytecode cached under ``pycache`` if given."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def cpu_of(argv: Sequence[str], env: dict[str, str], *, must_succeed: bool = False) -> float:
    """User+sys CPU seconds of one child process running ``argv`` to its end (its output discarded).

    With ``must_succeed``, a failing command raises :class:`RuntimeError`: a failed receive is no
    measure of one."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if must_succeed and done.returncode != 0:
        raise RuntimeError(f"smocast {' '.join(argv[3:5])} failed: {os.fsdecode(done.stderr[-300:]).strip()}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_times(argv: Sequence[str], env: dict[str, str], top: int = 8) -> dict[str, Any]:
    """``-X importtime`` of one run: the total and the heaviest top-level imports (microseconds, wall)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "smocast.cli.main", *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    heaviest: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2]
        if name.startswith(" ") and not name.startswith("  "):  # one space: a top-level import
            heaviest.append((int(fields[1]), name.strip()))
    heaviest.sort(reverse=True)
    return {
        "total_us": sum(us for us, _ in heaviest),
        "heaviest": [{"module": name, "cumulative_us": us} for us, name in heaviest[:top]],
    }


def _median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1e3, 1)


@dataclass(frozen=True, slots=True)
class _Trees:
    """The trees measured (``this`` and maybe ``baseline``), the bytecode cache and the secure source's setup."""

    sources: dict[str, str | None]
    pycache: str | None
    setup: startup_secure.SecureSetup | None

    def env(self, tree: str) -> dict[str, str]:
        return _environment(self.sources[tree], self.pycache)


def run(
    repeat: int = 7, baseline_src: str | None = None, cases: list[Case] | None = None, *, bytecode_cache: bool = True
) -> dict[str, Any]:
    """Start every case ``repeat`` times (interleaved, with the baseline tree if given); report medians."""
    cases = cases if cases is not None else default_cases()
    sources: dict[str, str | None] = {"this": None}
    if baseline_src is not None:
        sources["baseline"] = str(Path(baseline_src).resolve())
    bare = [sys.executable, "-c", "pass"]
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="smocast-startup-") as folder:
        pycache = str(Path(folder, "pycache")) if bytecode_cache else None
        setup = None
        if any(case.secure_source for case in cases):
            setup = startup_secure.prepare(Path(folder), _environment(None, pycache))
        trees = _Trees(sources, pycache, setup)
        if bytecode_cache:  # one unmeasured run of each, so the measured ones find their bytecode
            cpu_of(bare, trees.env("this"))
            for case in cases:
                for tree in sources:
                    _measure(case, tree, trees)
        ticks = machine_ticks()
        for _ in range(repeat):
            samples.setdefault(("python -c pass", "this"), []).append(cpu_of(bare, trees.env("this")))
            for case in cases:
                for tree in sources:
                    samples.setdefault((case.name, tree), []).append(_measure(case, tree, trees))
        busy = busy_fraction(ticks, machine_ticks())
        reports = [_case_report(case, samples, trees) for case in cases]
    return {
        "benchmark": "startup",
        "repeat": repeat,
        "python": sys.version.split()[0],
        "baseline_src": sources.get("baseline"),
        "bytecode_cache": bytecode_cache,
        "machine_busy": busy,
        "interpreter_cpu_ms": _median_ms(samples[("python -c pass", "this")]),
        "cases": reports,
    }


def _measure(case: Case, tree: str, trees: _Trees) -> float:
    """The CPU of one run of ``case`` with the tree ``tree`` (a secure source serves it first if the case asks)."""
    env = trees.env(tree)
    if not case.secure_source:
        chosen = case.baseline_argv if tree == "baseline" and case.baseline_argv else case.argv
        return cpu_of([sys.executable, "-m", "smocast.cli.main", *chosen], env)
    assert trees.setup is not None  # run() prepares it for such a case
    source, argv = startup_secure.serve(trees.setup, env)
    try:
        return cpu_of([sys.executable, "-m", "smocast.cli.main", *argv], env, must_succeed=True)
    finally:
        startup_secure.finish_source(source)


def _import_times_of(case: Case, tree: str, trees: _Trees) -> dict[str, Any]:
    env = trees.env(tree)
    if not case.secure_source:
        return import_times(case.argv, env)
    assert trees.setup is not None
    source, argv = startup_secure.serve(trees.setup, env)
    try:
        return import_times(argv, env)
    finally:
        startup_secure.finish_source(source)


def _case_report(case: Case, samples: dict[tuple[str, str], list[float]], trees: _Trees) -> dict[str, Any]:
    report: dict[str, Any] = {"command": "smocast " + " ".join(case.argv), "name": case.name}
    if case.secure_source:
        report["source"] = f"smocast send (a secure source of {startup_secure.TINY} bytes, started first)"
    for tree in trees.sources:
        report[tree] = {
            "cpu_ms_median": _median_ms(samples[(case.name, tree)]),
            "cpu_ms_runs": [round(v * 1e3, 1) for v in samples[(case.name, tree)]],
            "imports": _import_times_of(case, tree, trees),
        }
    if "baseline" in trees.sources:
        base = statistics.median(samples[(case.name, "baseline")])
        this = statistics.median(samples[(case.name, "this")])
        report["ratio_to_baseline"] = round(this / base, 3) if base > 0 else None
    return report
