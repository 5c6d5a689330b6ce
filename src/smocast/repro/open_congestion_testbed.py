"""The congestion question on the real network: smocast beside real kernel TCP flows.

Two testbed hosts (:class:`smocast.testbed.Testbed`): host 0 runs ``smocast send`` and the
``iperf3`` clients; host 1 runs three ``smocast recv`` and the ``iperf3`` servers. The switch port
towards host 1 is a tbf bottleneck that queues 50 ms and then drops, as a router in front of a
slow link does, so every flow crosses the same drop-tail queue. Each second we sample how much
each smocast receiver has written (its partial file) and take iperf3's own per-second report of
each TCP flow (the kernel's default congestion control). Needs root, iproute2, nftables and iperf3
(Debian packages ``iproute2``, ``nftables``, ``iperf3``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from smocast.apps.processes import processes
from smocast.repro import plotting
from smocast.repro.base import Outcome, Result, Row, Task, bound_row
from smocast.sim.sharing import jain
from smocast.testbed import Testbed
from smocast.testbed.runner import TestbedError, check_prerequisites

SOURCE = "Liang & Cheriton §II.F, §VII (future work)"
BOTTLENECK = "20mbit"
BOTTLENECK_BPS = 20e6
RECEIVERS = 3
GROUP = "232.7.7.7:5600"
PORT = 5600
IPERF_PORT = 5201
WARMUP = 5.0
START_LIMIT = 120.0  # Python processes start slowly on a busy machine


def unavailable() -> str | None:
    """Why this machine cannot run the experiment, or None."""
    try:
        check_prerequisites()
    except TestbedError as exc:
        return str(exc)
    if shutil.which("iperf3") is None:
        return "needs the iperf3 command (Debian package iperf3)"
    return None


def _python(*argv: str) -> list[str]:
    return [sys.executable, "-m", "smocast.cli.main", *argv]


def _written(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir() if p.is_file())


def _wait_for_data(directories: list[Path], senders: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + START_LIMIT
    while not all(_written(d) > 0 for d in directories):
        if any(p.poll() is not None for p in senders) or time.monotonic() > deadline:
            raise TestbedError(f"smocast did not start sending within {START_LIMIT:g} s")
        time.sleep(0.05)


def _iperf_rates(report: dict[str, Any] | None) -> list[float]:
    if not report:
        return []
    return [interval["sum"]["bits_per_second"] for interval in report.get("intervals", [])]


def testbed_point(tcp_flows: int, seconds: int, policy: str, congestion: str = "newreno") -> dict[str, Any]:
    """One run: smocast (cwnd policy ``policy``, controller ``congestion``) and ``tcp_flows``
    iperf3 flows for ``seconds``; per-second rates of each."""
    prefix = f"rp{os.getpid() % 100000}"
    with Testbed(prefix).running(hosts=2) as tb, tempfile.TemporaryDirectory() as work, processes() as started:
        tb.set_rate(1, BOTTLENECK, inbound=True)
        payload = Path(work) / "payload.bin"
        payload.write_bytes(os.urandom(int(BOTTLENECK_BPS / 8 * (seconds + 20))))
        server = f"{tb.address(0)}:{PORT}"
        for k in range(tcp_flows):
            argv = ["iperf3", "-s", "-1", "-p", str(IPERF_PORT + k)]
            started.append(tb.popen(1, argv, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        send = ["send", str(payload), "--group", GROUP, "--bind", server, "--min-receivers", str(RECEIVERS)]
        send += ["--cwnd-policy", policy, "--congestion", congestion, "--insecure"]  # the paper's protocol, as measured
        sender = tb.popen(0, _python(*send), text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(sender)
        time.sleep(1.0)
        outs = []
        for r in range(RECEIVERS):
            out = Path(work) / f"r{r}"
            out.mkdir()
            outs.append(out)
            recv = ["recv", "--server", server, "--group", GROUP, "-o", str(out), "--timeout", "60s", "--insecure"]
            started.append(tb.popen(1, _python(*recv), text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for_data(outs, [sender])
        clients = []
        for k in range(tcp_flows):
            argv = ["iperf3", "-c", tb.address(1), "-p", str(IPERF_PORT + k), "-t", str(seconds), "-i", "1", "-J"]
            clients.append(tb.popen(0, argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
            started.append(clients[-1])
        samples = []
        begin = time.monotonic()
        for tick in range(seconds + 1):
            time.sleep(max(0.0, begin + tick - time.monotonic()))
            samples.append([_written(d) for d in outs])
        reports = [json.loads(c.communicate(timeout=30)[0] or "{}") for c in clients]
    smocast = [
        statistics.fmean(b - a for a, b in zip(samples[i], samples[i + 1], strict=True)) * 8 for i in range(seconds)
    ]
    flows = {"smocast": smocast} | {f"tcp{k + 1}": _iperf_rates(r)[:seconds] for k, r in enumerate(reports)}
    load = round(os.getloadavg()[0], 2)
    return {
        "tcp_flows": tcp_flows,
        "policy": policy,
        "congestion": congestion,
        "seconds": seconds,
        "rates_bps": flows,
        "load_average": load,
    }


def _summary(point: dict[str, Any]) -> dict[str, Any]:
    rates = point["rates_bps"]
    length = min(len(v) for v in rates.values())
    index = [jain([rates[n][i] for n in rates]) for i in range(length)]
    steady = range(int(WARMUP), length)
    fair = BOTTLENECK_BPS / len(rates)
    share = {n: statistics.fmean(rates[n][i] for i in steady) / fair for n in rates}
    return {"jain": index, "jain_mean": statistics.fmean(index[i] for i in steady), "share_of_fair": share}


def _seconds(full: bool) -> int:
    return 60 if full else 30


def _tasks(full: bool) -> list[Task]:
    return [(testbed_point, (k, _seconds(full), "min")) for k in (1, 4)]


def _row(point: dict[str, Any]) -> Row:
    summary = _summary(point)
    shares = summary["share_of_fair"]
    tcp = [v for n, v in shares.items() if n != "smocast"]
    ratio = shares["smocast"] / statistics.fmean(tcp)
    return bound_row(
        f"min beside {point['tcp_flows']} kernel TCP flow{'s' if point['tcp_flows'] > 1 else ''}",
        "strictly fair to competing TCP flows",
        f"smocast {shares['smocast']:.2f} of a fair share, TCP {min(tcp):.2f}-{max(tcp):.2f}; ratio {ratio:.2f}; "
        f"Jain {summary['jain_mean']:.3f} (load average {point.get('load_average', 0):.1f})",
        summary["jain_mean"] >= 0.9 and 0.75 <= ratio <= 1.33,
    )


def _assemble(full: bool, outputs: list[Any]) -> Outcome:
    notes = [
        "smocast's rate is the mean, over its three receivers, of the bytes each wrote per second; each TCP "
        "flow's is iperf3's per-second report. Shares and Jain's index are taken after the first 5 s. The kernel's "
        "TCP (CUBIC by default on Linux) is not the NewReno of smocast's children, so this sets the multicast "
        "policy against a more aggressive window; the simulated run above isolates the policy itself.",
        "smocast here is four Python processes against iperf3's C and the kernel's TCP, on a 2-core machine shared "
        "with other work (the load average is given per run): when the CPU is short, smocast's receivers fall "
        "behind for want of CPU, not of congestion window, and runs on a busy machine vary widely.",
    ]
    return Outcome(
        "open-congestion-testbed",
        "smocast beside 1 and 4 kernel TCP flows on a real drop-tail bottleneck",
        SOURCE,
        "real-network",
        f"testbed, {BOTTLENECK} bottleneck towards the receivers' host (50 ms queue), {RECEIVERS} smocast "
        f"receivers, iperf3, {_seconds(full)} s",
        [_row(point) for point in outputs],
        notes,
        {"points": outputs},
    )


def _plot(outcome: Outcome, directory: Path) -> list[Path]:
    points = outcome.data["points"]
    fig, axes = plotting.figure(len(points), 1, (7.0, 2.6))
    for ax, point in zip(axes, points, strict=True):
        rates = point["rates_bps"]
        fair = BOTTLENECK_BPS / len(rates)
        for name, series in rates.items():
            times = list(range(1, len(series) + 1))
            ax.plot(times, [r / fair for r in series], "-" if name == "smocast" else ":", label=name)
        index = _summary(point)["jain"]
        ax.plot(list(range(1, len(index) + 1)), index, "k--", label="Jain's index")
        plotting.finish(ax, "time (s)", "rate / fair share", f"real network, {point['tcp_flows']} TCP", legend=False)
        ax.legend(fontsize="x-small", ncol=6, loc="upper right")
    return [plotting.save(fig, directory, outcome.name)]


OPEN_CONGESTION_TESTBED = Result(
    "open-congestion-testbed",
    "open question: smocast beside 1 and 4 real kernel TCP flows on a tbf bottleneck (root, iperf3)",
    SOURCE,
    "real-network",
    _tasks,
    _assemble,
    _plot,
    "60 s per run",
    unavailable,
)
