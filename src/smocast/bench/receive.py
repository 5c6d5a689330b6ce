"""``smocast bench receive``: the receivers' CPU per delivered megabyte, and Python calls per datagram.

On loopback, one ``smocast send`` of a generated file of ``size`` bytes to N ``smocast recv``
processes, for each N; the CPU of every process (user + system, from ``wait4``) is read when it
exits. The fixed cost of a receiver (start-up, imports, handshake, the linger after the end) is
measured in the same run with a 1 KiB file and subtracted, so the figure is the CPU that
receiving the data costs: ``(cpu - fixed) / megabytes``; the sender's likewise (its fixed
cost includes hashing the file, so the figure for it is only a guide). With ``baseline_src`` (the ``src``
folder of another checkout) every transfer also runs with that tree, interleaved: before and
after in one run. Both run the plain protocol (``--insecure``): the figure is the receiver's data
path, not the protection layer's cryptography, and a secure ``recv`` would need the source's
key pinned.

With ``calls``, one more receiver per tree runs under :mod:`cProfile`: the Python function
calls (C functions included) per delivered datagram, the 1 KiB transfer's calls subtracted,
and the functions called most, to say where the rest goes.

With ``secure``, every transfer runs in the secure mode (a key made for the run, pinned by the
receivers); otherwise both sides pass ``--insecure``.
"""

from __future__ import annotations

import contextlib
import os
import pstats
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smocast.aio.sockets import free_udp_port
from smocast.bench.fanout_runs import security_options
from smocast.bench.machine import busy_fraction, machine_ticks

TINY = 1024  # bytes of the transfer that measures a receiver's fixed cost
RUN_LIMIT = 600.0  # seconds for one transfer
MSS = 1400  # the default segment size: datagrams per megabyte follow from it
TOP_FUNCTIONS = 12


@dataclass(frozen=True, slots=True)
class ReceiveSettings:
    receivers: list[int]
    size: int
    repeat: int
    baseline_src: str | None = None
    calls: bool = False
    secure: bool = False

    def __post_init__(self) -> None:
        if not self.receivers or min(self.receivers) < 1 or self.size <= TINY or self.repeat < 1:
            raise ValueError(f"need receivers >= 1, a size above {TINY} bytes and repeat >= 1")


@dataclass
class Process:
    """A command of one tree, and its CPU once it exited."""

    popen: subprocess.Popen[bytes]
    cpu: float = 0.0
    output: bytes = b""

    def finish(self) -> None:
        """Wait for the process and read its CPU (user + system) from ``wait4``."""
        stdout = self.popen.stdout
        self.output = stdout.read() if stdout is not None else b""
        _, status, usage = os.wait4(self.popen.pid, 0)
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime
        if self.popen.returncode != 0:
            raise RuntimeError(f"a command failed (exit {self.popen.returncode}): {self.output[-300:]!r}")

    def kill(self) -> None:
        if self.popen.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGKILL)


def _start(argv: list[str], src: str | None, profile: Path | None = None) -> Process:
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = src
    head = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else []), "-m", "smocast.cli.main"]
    popen = subprocess.Popen([*head, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return Process(popen)


def transfer(
    path: Path,
    receivers: int,
    src: str | None,
    work: Path,
    profile: Path | None = None,
    security: tuple[list[str], list[str]] = (["--insecure"], ["--insecure"]),
) -> dict[str, Any]:
    """One ``send`` of ``path`` to ``receivers`` ``recv`` processes; their CPU and the time.
    ``security``: the sender's and the receivers' options (``fanout_runs.security_options``)."""
    send_security, recv_security = security
    port = free_udp_port()
    server, group = f"127.0.0.1:{port}", f"239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)}:{port}"
    argv = ["send", str(path), "--group", group, "--bind", server, "--json", "--no-announce", "--wait", "60s"]
    sender = _start([*argv, "--min-receivers", str(receivers), *send_security], src)
    time.sleep(0.5)  # the source binds first; receivers retry anyway
    procs: list[Process] = []
    began = time.monotonic()
    try:
        for i in range(receivers):
            out = Path(tempfile.mkdtemp(prefix=f"out-{i}-", dir=work))  # a port the OS hands out twice cannot collide
            argv = ["recv", "--server", server, "--group", group, "-o", str(out), "--json", *recv_security]
            procs.append(_start(argv, src, profile if i == 0 else None))
        for proc in procs:
            proc.finish()
        sender.finish()
    finally:
        for proc in [*procs, sender]:
            proc.kill()
    return {"receivers_cpu_s": [p.cpu for p in procs], "sender_cpu_s": sender.cpu, "wall_s": time.monotonic() - began}


def _calls(profile: Path) -> tuple[int, list[tuple[str, int]]]:
    stats = pstats.Stats(str(profile))
    rows = [(f"{Path(f).name}:{line}({name})", int(nc)) for (f, line, name), (_, nc, *_) in stats.stats.items()]  # type: ignore[attr-defined]
    rows.sort(key=lambda row: -row[1])
    return int(stats.total_calls), rows  # type: ignore[attr-defined]


def run(settings: ReceiveSettings) -> dict[str, Any]:
    """Every transfer ``repeat`` times per tree, interleaved; the JSON report (module docstring)."""
    trees: dict[str, str | None] = {"this": None}
    if settings.baseline_src is not None:
        trees["baseline"] = settings.baseline_src
    samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
    fixed: dict[str, list[float]] = {}
    fixed_sender: dict[str, list[float]] = {}
    ticks = machine_ticks()
    with tempfile.TemporaryDirectory(prefix="smocast-bench-") as folder:
        work = Path(folder)
        big, tiny = work / "file.bin", work / "tiny.bin"
        big.write_bytes(random.Random(1).randbytes(settings.size))
        tiny.write_bytes(random.Random(2).randbytes(TINY))
        security = security_options(settings.secure, work)
        for _ in range(settings.repeat):
            for name, src in trees.items():
                small = transfer(tiny, 1, src, work, security=security)
                fixed.setdefault(name, []).extend(small["receivers_cpu_s"])
                fixed_sender.setdefault(name, []).append(small["sender_cpu_s"])
                for n in settings.receivers:
                    samples.setdefault((name, n), []).append(transfer(big, n, src, work, security=security))
        calls = _profile_calls(settings, trees, work, big, tiny, security) if settings.calls else None
    report = _report(settings, trees, samples, fixed, fixed_sender)
    if calls is not None:
        report["calls"] = calls
    report["machine_busy"] = busy_fraction(ticks, machine_ticks())
    return report


def _report(
    settings: ReceiveSettings,
    trees: dict[str, str | None],
    samples: dict[tuple[str, int], list[dict[str, Any]]],
    fixed: dict[str, list[float]],
    fixed_sender: dict[str, list[float]],
) -> dict[str, Any]:
    megabytes = settings.size / 1e6
    out: dict[str, Any] = {
        "benchmark": "receive",
        "secure": settings.secure,
        "size": settings.size,
        "repeat": settings.repeat,
        "results": [],
    }
    out["fixed_cpu_s"] = {name: round(statistics.median(values), 4) for name, values in fixed.items()}
    out["sender_fixed_cpu_s"] = {name: round(statistics.median(v), 4) for name, v in fixed_sender.items()}
    for n in settings.receivers:
        row: dict[str, Any] = {"receivers": n}
        for name in trees:
            runs = samples[(name, n)]
            base, sender_base = statistics.median(fixed[name]), statistics.median(fixed_sender[name])
            per_mb = [(cpu - base) / megabytes for r in runs for cpu in r["receivers_cpu_s"]]
            row[name] = {
                "receiver_cpu_ms_per_mb": round(statistics.median(per_mb) * 1e3, 2),
                "receiver_cpu_us_per_datagram": round(statistics.median(per_mb) * 1e6 / (1e6 / MSS), 2),
                "sender_cpu_ms_per_mb": round(
                    (statistics.median(r["sender_cpu_s"] for r in runs) - sender_base) / megabytes * 1e3, 2
                ),
                "wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
            }
        if "baseline" in row:
            this, before = row["this"]["receiver_cpu_ms_per_mb"], row["baseline"]["receiver_cpu_ms_per_mb"]
            row["receiver_cpu_ratio"] = round(this / before, 3) if before > 0 else None
        out["results"].append(row)
    return out


def _profile_calls(
    settings: ReceiveSettings,
    trees: dict[str, str | None],
    work: Path,
    big: Path,
    tiny: Path,
    security: tuple[list[str], list[str]],
) -> dict[str, Any]:
    """Python calls per delivered datagram, per tree: one profiled receiver of each file."""
    datagrams = settings.size / MSS
    out: dict[str, Any] = {}
    for name, src in trees.items():
        counts = []
        for path in (tiny, big):
            profile = work / f"{name}-{path.stem}.prof"
            transfer(path, 1, src, work, profile, security)
            counts.append(_calls(profile))
        (small, _), (total, rows) = counts
        small_rows = dict(counts[0][1])
        top = [(fn, round((nc - small_rows.get(fn, 0)) / datagrams, 2)) for fn, nc in rows[:TOP_FUNCTIONS]]
        out[name] = {"calls_per_datagram": round((total - small) / datagrams, 1), "top": top}
    return out
