"""The two transfers that ``smocast bench fanout`` compares, each run as real processes in testbed hosts.

* :func:`run_smocast`: one ``smocast send`` on host 0 and one ``smocast recv`` per receiver.
* :func:`run_tcp`: :mod:`smocast.bench.tcp_baseline` ``serve`` on host 0 and one ``fetch``
  per receiver: N parallel kernel-TCP transfers of the same file over the same link.

Both return a :class:`Transfer`: each receiver's completion time, counted from the moment the
source starts sending (admission of all N for smocast, all N connections accepted for TCP),
the bytes host 0's interface transmitted meanwhile, and the CPU the processes used. Every
process started here is killed and reaped on the way out, whatever happened.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smocast.testbed import Testbed
from smocast.testbed.runner import run

START_LIMIT = 30.0  # seconds for a source process to bind its port
RUN_LIMIT = 900.0  # seconds any one transfer may take before the benchmark gives up on it
JOIN_WAIT = "300s"  # how long ``smocast send`` waits for all receivers to join


@dataclass
class Transfer:
    """One method's outcome at one group size. ``times_s`` has one entry per completed receiver."""

    receivers: int
    times_s: list[float] = field(default_factory=list)
    verified: int = 0
    egress_bytes: int = 0
    cpu_s: float = 0.0
    machine_busy: float = 0.0
    errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    code: int
    report: dict[str, Any] | None
    stderr: str


# --- processes and counters -------------------------------------------------------------------------


def python(*argv: str) -> list[str]:
    return [sys.executable, "-m", *argv]


@contextmanager
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Every process appended to the list is killed and reaped on the way out."""
    started: list[subprocess.Popen[str]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
        for proc in started:
            proc.communicate()


def outcome(proc: subprocess.Popen[str], deadline: float) -> Outcome:
    """Wait for ``proc`` until ``deadline`` (monotonic); its exit code, JSON output and stderr."""
    try:
        out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err = f"gave up after {RUN_LIMIT:g} s; {err}"
    return Outcome(proc.returncode, _json_object(out), err.strip())


def _json_object(out: str) -> dict[str, Any] | None:
    """The JSON object a process printed: its whole output, or else its last line that is one."""
    for text in (out, *reversed(out.strip().splitlines())):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def egress_bytes(tb: Testbed) -> int:
    """Bytes host 0's interface has transmitted so far (its ``tx_bytes`` counter)."""
    result = run(["ip", "-n", tb.namespace(0), "-j", "-s", "link", "show", "dev", tb.interface])
    return int(json.loads(result.stdout)[0]["stats64"]["tx"]["bytes"])


def wait_listening(proc: subprocess.Popen[str], port: int, protocol: str) -> None:
    """Return once ``proc``'s namespace has a ``protocol`` ("udp" or "tcp") socket on ``port``."""
    deadline = time.monotonic() + START_LIMIT
    while not _bound(proc.pid, port, protocol):
        if proc.poll() is not None:
            raise RuntimeError(f"the source exited with {proc.returncode}: {_last_line(proc.communicate()[1])}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the source did not open port {port} within {START_LIMIT:g} s")
        time.sleep(0.02)


def _bound(pid: int, port: int, protocol: str) -> bool:
    """Whether /proc/PID/net/{udp,tcp} (the namespace of PID) lists a socket bound to ``port``."""
    try:
        lines = Path(f"/proc/{pid}/net/{protocol}").read_text().splitlines()[1:]
    except OSError:
        return False
    wanted = f":{port:04X}"
    listen = "0A"  # TCP_LISTEN
    for line in lines:
        fields = line.split()
        if fields[1].endswith(wanted) and (protocol == "udp" or fields[3] == listen):
            return True
    return False


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


class Meter:
    """CPU of finished child processes and the machine's busy fraction, between start and ``stop``."""

    def __init__(self) -> None:
        self._children = _children_cpu()
        self._busy, self._total = _machine_ticks()

    def stop(self, transfer: Transfer) -> None:
        transfer.cpu_s = round(_children_cpu() - self._children, 3)
        busy, total = _machine_ticks()
        transfer.machine_busy = round((busy - self._busy) / (total - self._total), 3) if total > self._total else 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores from /proc/stat; idle and iowait are not busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


# --- smocast -------------------------------------------------------------------------------------------


def run_smocast(tb: Testbed, payload: Path, digest: str, hosts: list[int], port: int, group: str,
                workdir: Path) -> Transfer:
    """``smocast send`` to one ``smocast recv`` per entry of ``hosts`` (a host index per receiver)."""
    transfer = Transfer(len(hosts))
    server = f"{tb.address(0)}:{port}"
    before, meter = egress_bytes(tb), Meter()
    with processes() as started:
        sender = tb.popen(0, python("smocast.cli.main", "send", str(payload), "--group", group, "--bind", server,
                                    "--min-receivers", str(len(hosts)), "--wait", JOIN_WAIT, "--json"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(sender)
        wait_listening(sender, port, "udp")
        receivers = []
        for index, host in enumerate(hosts):
            out = workdir / f"r{index}"
            out.mkdir()
            receivers.append(tb.popen(host, python("smocast.cli.main", "recv", "--server", server, "--group", group,
                                                   "-o", str(out), "--timeout", "60s", "--json"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            started.append(receivers[-1])
        deadline = time.monotonic() + RUN_LIMIT
        received = [outcome(proc, deadline) for proc in receivers]
        sent = outcome(sender, deadline)
    meter.stop(transfer)
    transfer.egress_bytes = egress_bytes(tb) - before
    _smocast_results(transfer, sent, received, digest)
    return transfer


def _smocast_results(transfer: Transfer, sent: Outcome, received: list[Outcome], digest: str) -> None:
    for got in received:
        if got.code == 0 and got.report is not None and got.report.get("sha256") == digest:
            transfer.verified += 1
        else:
            transfer.errors.append(f"receiver exit {got.code}: {_last_line(got.stderr)}")
    report = sent.report
    if report is None:
        transfer.errors.append(f"sender exit {sent.code}: {_last_line(sent.stderr)}")
        return
    rows = report.get("per_receiver", [])
    ends = [row["ended_at_s"] for row in rows if row["status"] == "completed" and row["ended_at_s"] is not None]
    wall = report.get("wall_time_s")
    if ends and wall is not None:
        start = max(ends) - wall  # the sender's wall time runs from admission to the last completion
        transfer.times_s = sorted(round(end - start, 4) for end in ends)
    segments = report.get("segments", {})
    transfer.extra = {
        "repairs_unicast": segments.get("repair_unicast", 0),
        "repairs_multicast": segments.get("repair_multicast", 0),
        "receiver_goodput_bps": sorted(got.report["goodput_bps"] for got in received if got.report),
    }


# --- TCP -------------------------------------------------------------------------------------------------


def run_tcp(tb: Testbed, payload: Path, digest: str, hosts: list[int], port: int) -> Transfer:
    """N parallel TCP transfers of ``payload`` from host 0, one ``fetch`` process per entry of ``hosts``."""
    transfer = Transfer(len(hosts))
    server = f"{tb.address(0)}:{port}"
    before, meter = egress_bytes(tb), Meter()
    with processes() as started:
        source = tb.popen(0, python("smocast.bench.tcp_baseline", "serve", str(payload), "--bind", server,
                                    "--connections", str(len(hosts))),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(source)
        wait_listening(source, port, "tcp")
        clients = []
        for host in hosts:
            clients.append(tb.popen(host, python("smocast.bench.tcp_baseline", "fetch", "--server", server),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            started.append(clients[-1])
        deadline = time.monotonic() + RUN_LIMIT
        fetched = [outcome(proc, deadline) for proc in clients]
        served = outcome(source, deadline)
    meter.stop(transfer)
    transfer.egress_bytes = egress_bytes(tb) - before
    _tcp_results(transfer, served, fetched, digest)
    return transfer


def _tcp_results(transfer: Transfer, served: Outcome, fetched: list[Outcome], digest: str) -> None:
    if served.report is None or "start_time" not in served.report:
        transfer.errors.append(f"server exit {served.code}: {_last_line(served.stderr or str(served.report))}")
        return
    start = served.report["start_time"]
    transfer.errors.extend(served.report.get("errors", []))
    for got in fetched:
        report = got.report
        if got.code == 0 and report is not None and report.get("sha256") == digest:
            transfer.verified += 1
            transfer.times_s.append(round(report["done_at"] - start, 4))
        else:
            transfer.errors.append(f"client exit {got.code}: {_last_line(got.stderr or str(report))}")
    transfer.times_s.sort()


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
