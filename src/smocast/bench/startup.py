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
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.bench.machine import busy_fraction, machine_ticks

CLOSED_PORT_GROUP = "239.255.77.9"


@dataclass(frozen=True, slots=True)
class Case:
    """One command to start: its name in the report and its arguments after ``smocast``."""

    name: str
    argv: tuple[str, ...]
    baseline_argv: tuple[str, ...] | None = None  # for a baseline tree that predates an option


def default_cases() -> list[Case]:
    """``recv --help``, ``recv`` against a closed port (ICMP refuses it at once), ``send --help``, ``--version``."""
    port = _closed_port()
    server, group = f"127.0.0.1:{port}", f"{CLOSED_PORT_GROUP}:{port}"
    return [
        Case("recv --help", ("recv", "--help")),
        Case(
            "recv, closed port",
            ("recv", "--server", server, "--group", group, "--timeout", "2s", "--wait", "0", "--json"),
            ("recv", "--server", server, "--group", group, "--timeout", "2s", "--json"),  # before --wait
        ),
        Case("send --help", ("send", "--help")),
        Case("--version", ("--version",)),
    ]


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    return env


def cpu_of(argv: Sequence[str], env: dict[str, str]) -> float:
    """User+sys CPU seconds of one child process running ``argv`` to its end (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
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


def run(repeat: int = 7, baseline_src: str | None = None, cases: list[Case] | None = None) -> dict[str, Any]:
    """Start every case ``repeat`` times (interleaved, with the baseline tree if given); report medians."""
    cases = cases if cases is not None else default_cases()
    trees: dict[str, str | None] = {"this": None}
    if baseline_src is not None:
        trees["baseline"] = str(Path(baseline_src).resolve())
    bare = [sys.executable, "-c", "pass"]
    samples: dict[tuple[str, str], list[float]] = {}
    ticks = machine_ticks()
    for _ in range(repeat):
        samples.setdefault(("python -c pass", "this"), []).append(cpu_of(bare, _environment(None)))
        for case in cases:
            for tree, src in trees.items():
                chosen = case.baseline_argv if tree == "baseline" and case.baseline_argv else case.argv
                argv = [sys.executable, "-m", "smocast.cli.main", *chosen]
                samples.setdefault((case.name, tree), []).append(cpu_of(argv, _environment(src)))
    return {
        "benchmark": "startup",
        "repeat": repeat,
        "python": sys.version.split()[0],
        "baseline_src": trees.get("baseline"),
        "machine_busy": busy_fraction(ticks, machine_ticks()),
        "interpreter_cpu_ms": _median_ms(samples[("python -c pass", "this")]),
        "cases": [_case_report(case, samples, trees) for case in cases],
    }


def _case_report(
    case: Case, samples: dict[tuple[str, str], list[float]], trees: dict[str, str | None]
) -> dict[str, Any]:
    report: dict[str, Any] = {"command": "smocast " + " ".join(case.argv), "name": case.name}
    for tree, src in trees.items():
        report[tree] = {
            "cpu_ms_median": _median_ms(samples[(case.name, tree)]),
            "cpu_ms_runs": [round(v * 1e3, 1) for v in samples[(case.name, tree)]],
            "imports": import_times(case.argv, _environment(src)),
        }
    if "baseline" in trees:
        base = statistics.median(samples[(case.name, "baseline")])
        this = statistics.median(samples[(case.name, "this")])
        report["ratio_to_baseline"] = round(this / base, 3) if base > 0 else None
    return report
