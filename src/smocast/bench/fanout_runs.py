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
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smocast.apps.processes import processes
from smocast.bench.machine import busy_fraction, machine_ticks
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
    source_cpu_s: float = 0.0
    receiver_cpu_s: list[float] = field(default_factory=list)
    machine_busy: float | None = None  # busy fraction of all CPUs while the data flowed
    errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """A finished process: exit code, JSON report (None if none), stderr, and the CPU seconds it used."""

    code: int
    report: dict[str, Any] | None
    stderr: str
    cpu_s: float
    ended_at: float  # time.time() when it was reaped


# --- processes and counters -------------------------------------------------------------------------


def python(*argv: str) -> list[str]:
    return [sys.executable, "-m", *argv]


def smocast_send_argv(payload: Path, group: str, server: str, receivers: int, *extra: str) -> list[str]:
    """``smocast send`` of ``payload`` to ``group`` (ADDR:PORT), bound to ``server``, for ``receivers``."""
    options = ["--min-receivers", str(receivers), "--wait", JOIN_WAIT, "--json", *extra]
    return python("smocast.cli.main", "send", str(payload), "--group", group, "--bind", server, *options)


def smocast_recv_argv(server: str, group: str, out: Path, *extra: str) -> list[str]:
    """``smocast recv`` from ``server`` (ADDR:PORT) on ``group``, writing its copy into directory ``out``."""
    options = ["-o", str(out), "--timeout", "60s", "--json", *extra]
    return python("smocast.cli.main", "recv", "--server", server, "--group", group, *options)


def tcp_serve_argv(payload: Path, server: str, connections: int) -> list[str]:
    """The TCP baseline's server: ``payload`` to ``connections`` clients at once, listening on ``server``."""
    return python(
        "smocast.bench.tcp_baseline", "serve", str(payload), "--bind", server, "--connections", str(connections)
    )


def tcp_fetch_argv(server: str) -> list[str]:
    """One TCP baseline client: read the whole stream from ``server`` and hash it."""
    return python("smocast.bench.tcp_baseline", "fetch", "--server", server)


def outcome(proc: subprocess.Popen[str], deadline: float) -> Outcome:
    """Wait for ``proc`` until ``deadline`` (monotonic); its exit code, JSON output, stderr and CPU.

    The CPU is the growth of this process's reaped-children usage while reaping ``proc``, so
    reap one process at a time (start-up included: about 0.3 s of importing per process).
    """
    cpu_before = _children_cpu()
    try:
        out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err = f"gave up after {RUN_LIMIT:g} s; {err}"
    return Outcome(proc.returncode, json_object(out), err.strip(), round(_children_cpu() - cpu_before, 3), time.time())


def json_object(out: str) -> dict[str, Any] | None:
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
            raise RuntimeError(f"the source exited with {proc.returncode}: {last_line(proc.communicate()[1])}")
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


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no message"


class CpuSampler:
    """Samples the machine's busy CPU fraction (/proc/stat) every ``PERIOD`` s in a thread until ``stop``.

    ``watch(pid)`` also notes when that child exits (``exited_at``, time.time()), without reaping it.
    """

    PERIOD = 0.02

    def __init__(self) -> None:
        self._samples: list[tuple[float, int, int]] = []
        self._watched: int | None = None
        self.exited_at: float | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, pid: int) -> None:
        self._watched = pid

    def _run(self) -> None:
        while True:
            now = time.time()
            self._samples.append((now, *machine_ticks()))
            if self.exited_at is None and self._watched is not None and _has_exited(self._watched):
                self.exited_at = now
            if self._done.wait(self.PERIOD):
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def busy_between(self, start: float, end: float) -> float | None:
        """Busy fraction of all CPUs from ``start`` to ``end`` (time.time()), from the nearest samples."""
        inside = [s for s in self._samples if start <= s[0] <= end]
        if len(inside) < 2:
            return None
        return busy_fraction(inside[0][1:], inside[-1][1:])


def _has_exited(pid: int) -> bool:
    """Whether child ``pid`` has exited; it is left for ``communicate`` to reap (WNOWAIT)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- smocast -------------------------------------------------------------------------------------------


def security_options(secure: bool, workdir: Path) -> tuple[list[str], list[str]]:
    """The sender's and the receivers' options: a key made for the run and pinned by them, or ``--insecure``."""
    if not secure:
        return ["--insecure"], ["--insecure"]
    from smocast.secure import keyfiles  # noqa: PLC0415  (loads the secure mode only when used)

    key = workdir / "source.key"
    identity = keyfiles.create_identity(key)
    return ["--key", str(key)], ["--trust", identity.public.fingerprint]


def run_smocast(
    tb: Testbed,
    payload: Path,
    digest: str,
    hosts: list[int],
    port: int,
    group: str,
    workdir: Path,
    *,
    secure: bool = True,
) -> Transfer:
    """``smocast send`` to one ``smocast recv`` per entry of ``hosts`` (a host index per receiver);
    ``secure`` (the default mode) with a key made for the run, else ``--insecure``."""
    transfer = Transfer(len(hosts))
    send_security, recv_security = security_options(secure, workdir)
    server = f"{tb.address(0)}:{port}"
    before, sampler = egress_bytes(tb), CpuSampler()
    with processes() as started:
        sender = tb.popen(
            0,
            smocast_send_argv(payload, group, server, len(hosts), *send_security),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(sender)
        sampler.watch(sender.pid)
        wait_listening(sender, port, "udp")
        receivers = []
        for index, host in enumerate(hosts):
            out = workdir / f"r{index}"
            out.mkdir()
            receivers.append(
                tb.popen(
                    host,
                    smocast_recv_argv(server, group, out, *recv_security),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            started.append(receivers[-1])
        deadline = time.monotonic() + RUN_LIMIT
        received = [outcome(proc, deadline) for proc in receivers]
        sent = outcome(sender, deadline)
    sampler.stop()
    transfer.egress_bytes = egress_bytes(tb) - before
    smocast_results(transfer, sent, received, digest)
    wall = sent.report.get("wall_time_s") if sent.report else None
    if sampler.exited_at is not None and wall:
        transfer.machine_busy = sampler.busy_between(sampler.exited_at - wall, sampler.exited_at)
    return transfer


def smocast_results(transfer: Transfer, sent: Outcome, received: list[Outcome], digest: str) -> None:
    transfer.source_cpu_s = sent.cpu_s
    transfer.receiver_cpu_s = sorted(got.cpu_s for got in received)
    for got in received:
        if got.code == 0 and got.report is not None and got.report.get("sha256") == digest:
            transfer.verified += 1
        else:
            transfer.errors.append(f"receiver exit {got.code}: {last_line(got.stderr)}")
    report = sent.report
    if report is None:
        transfer.errors.append(f"sender exit {sent.code}: {last_line(sent.stderr)}")
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
        # A receiver that failed reports an error object, without a goodput.
        "receiver_view_goodput_median_bps": _median([g for got in received if (g := _goodput(got)) is not None]),
    }


# --- TCP -------------------------------------------------------------------------------------------------


def run_tcp(tb: Testbed, payload: Path, digest: str, hosts: list[int], port: int) -> Transfer:
    """N parallel TCP transfers of ``payload`` from host 0, one ``fetch`` process per entry of ``hosts``."""
    transfer = Transfer(len(hosts))
    server = f"{tb.address(0)}:{port}"
    before, sampler = egress_bytes(tb), CpuSampler()
    with processes() as started:
        source = tb.popen(
            0,
            tcp_serve_argv(payload, server, len(hosts)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(source)
        wait_listening(source, port, "tcp")
        clients = []
        for host in hosts:
            clients.append(
                tb.popen(
                    host,
                    tcp_fetch_argv(server),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            started.append(clients[-1])
        deadline = time.monotonic() + RUN_LIMIT
        fetched = [outcome(proc, deadline) for proc in clients]
        served = outcome(source, deadline)
    sampler.stop()
    transfer.egress_bytes = egress_bytes(tb) - before
    tcp_results(transfer, served, fetched, digest)
    if served.report is not None and "start_time" in served.report and transfer.times_s:
        start = served.report["start_time"]
        transfer.machine_busy = sampler.busy_between(start, start + transfer.times_s[-1])
    return transfer


def tcp_results(transfer: Transfer, served: Outcome, fetched: list[Outcome], digest: str) -> None:
    if served.report is None or "start_time" not in served.report:
        transfer.errors.append(f"server exit {served.code}: {last_line(served.stderr or str(served.report))}")
        return
    start = served.report["start_time"]
    transfer.errors.extend(served.report.get("errors", []))
    transfer.source_cpu_s = served.cpu_s
    transfer.receiver_cpu_s = sorted(got.cpu_s for got in fetched)
    for got in fetched:
        report = got.report
        if got.code == 0 and report is not None and report.get("sha256") == digest:
            transfer.verified += 1
            transfer.times_s.append(round(report["done_at"] - start, 4))
        else:
            transfer.errors.append(f"client exit {got.code}: {last_line(got.stderr or str(report))}")
    transfer.times_s.sort()


def _goodput(got: Outcome) -> float | None:
    value = got.report.get("goodput_bps") if got.report is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values)) if values else None


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
