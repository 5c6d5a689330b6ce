"""``smocast bench secure``: the secure mode against ``--insecure``, measured in one run.

* Goodput of ``smocast send`` to N ``smocast recv`` processes, for each N, on loopback (and,
  with ``testbed``, on the namespace testbed, host 0's egress shaped to ``rate``). The two
  modes alternate, the insecure first in odd repetitions and second in even ones, so a
  change of load on the shared machine falls on both: the report gives each mode's median
  and their ratio. Goodput is the file over the time from admission to the last receiver's
  verified copy (the sender's report).
* The latency of a live stream (``smocast stream`` to ``smocast recv --realtime``) in both
  modes: the block signatures add the wait of ``LIVE_BLOCKS`` (at most 2 ms) and one
  verification; the report gives the median and the 99th percentile, and the difference.

The secure runs prove a key made for the run, which the receivers pin with ``--trust``. The
report ends with how busy the whole machine was over the run (``machine_busy``, every CPU,
other work included) and its load average before and after: on a shared machine the figures
mean little without them.
"""

from __future__ import annotations

import hashlib
import os
import random
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smocast.bench.machine import busy_fraction, machine_ticks
from smocast.bench.secure_runs import local_stream, local_transfer

GOAL_RATIO = 0.8
"""The secure mode must keep at least this fraction of the insecure goodput."""
MODES = ("insecure", "secure")


@dataclass(frozen=True, slots=True)
class SecureSettings:
    receivers: list[int] = field(default_factory=lambda: [1, 4, 16])
    size: int = 8 << 20
    repeat: int = 3
    testbed: bool = False
    rate: str = "100mbit"
    hosts: int = 16
    prefix: str = "bsc"
    stream_rate: float = 500.0
    stream_size: int = 1316
    stream_duration: float = 5.0
    seed: int = 1

    def __post_init__(self) -> None:
        if not self.receivers or min(self.receivers) < 1:
            raise ValueError("every group size must be at least 1")
        if self.repeat < 1 or self.size < 1:
            raise ValueError("--repeat and --size must be positive")


def order(repetition: int) -> tuple[str, ...]:
    """The modes in the order of one repetition: they alternate, so drift falls on both."""
    return MODES if repetition % 2 == 0 else MODES[::-1]


def summarise(receivers: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Each mode's median goodput over its complete runs, the ratio, and the runs themselves."""
    row: dict[str, Any] = {"receivers": receivers}
    for mode in MODES:
        good = [r["goodput_bps"] for r in runs[mode] if r["complete"]]
        row[f"{mode}_goodput_bps"] = round(statistics.median(good), 1) if good else None
        row[f"{mode}_complete_runs"] = len(good)
    insecure, secure = row["insecure_goodput_bps"], row["secure_goodput_bps"]
    row["ratio"] = round(secure / insecure, 3) if insecure and secure else None
    row["goal_met"] = row["ratio"] is not None and row["ratio"] >= GOAL_RATIO
    row["runs"] = runs
    return row


def loopback(settings: SecureSettings, payload: Path, digest: str, workdir: Path) -> list[dict[str, Any]]:
    rows = []
    for n in settings.receivers:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for repetition in range(settings.repeat):
            for mode in order(repetition):
                where = Path(tempfile.mkdtemp(prefix=f"{mode}-n{n}-", dir=workdir))
                runs[mode].append(local_transfer(payload, digest, n, secure=mode == "secure", workdir=where))
        rows.append(summarise(n, runs))
    return rows


def testbed(settings: SecureSettings, payload: Path, digest: str, workdir: Path) -> list[dict[str, Any]]:
    """The same on the namespace testbed (root): one run per mode and size in one testbed."""
    from smocast.bench.fanout import GROUP, PORT, placement, require_root  # noqa: PLC0415
    from smocast.bench.fanout_runs import run_smocast  # noqa: PLC0415
    from smocast.testbed import Testbed  # noqa: PLC0415

    require_root()
    rows = []
    hosts = min(max(settings.receivers), settings.hosts)
    with Testbed(settings.prefix).running(hosts=1 + hosts) as tb:
        tb.set_rate(0, settings.rate)
        port = PORT
        for n in settings.receivers:
            runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
            for repetition in range(settings.repeat):
                for mode in order(repetition):
                    where = Path(tempfile.mkdtemp(prefix=f"tb-{mode}-n{n}-", dir=workdir))
                    group = f"{GROUP}:{port}"
                    done = run_smocast(
                        tb, payload, digest, placement(n, hosts), port, group, where, secure=mode == "secure"
                    )
                    port += 2
                    runs[mode].append(_testbed_run(done, settings.size))
            rows.append(summarise(n, runs))
    return rows


def _testbed_run(transfer: Any, size: int) -> dict[str, Any]:
    last = max(transfer.times_s) if transfer.times_s else None
    complete = transfer.verified == transfer.receivers and last is not None
    return {
        "complete": complete,
        "goodput_bps": round(size * 8 / last, 1) if last else 0.0,
        "source_cpu_s": transfer.source_cpu_s,
        "errors": transfer.errors[:3],
    }


def stream(settings: SecureSettings, workdir: Path) -> dict[str, Any]:
    """The live stream's latency in both modes (medians of ``repeat`` runs of each)."""
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for repetition in range(settings.repeat):
        for mode in order(repetition):
            where = Path(tempfile.mkdtemp(prefix=f"stream-{mode}-", dir=workdir))
            runs[mode].append(
                local_stream(
                    settings.stream_rate,
                    settings.stream_size,
                    settings.stream_duration,
                    secure=mode == "secure",
                    workdir=where,
                )
            )
    row: dict[str, Any] = {"rate_per_s": settings.stream_rate, "size": settings.stream_size}
    for mode in MODES:
        ok = [r for r in runs[mode] if r["p50_ms"] is not None]
        row[f"{mode}_p50_ms"] = round(statistics.median(r["p50_ms"] for r in ok), 3) if ok else None
        row[f"{mode}_p99_ms"] = round(statistics.median(r["p99_ms"] for r in ok), 3) if ok else None
    if row["secure_p50_ms"] is not None and row["insecure_p50_ms"] is not None:
        row["added_p50_ms"] = round(row["secure_p50_ms"] - row["insecure_p50_ms"], 3)
        row["added_p99_ms"] = round(row["secure_p99_ms"] - row["insecure_p99_ms"], 3)
    row["runs"] = runs
    return row


def run(settings: SecureSettings) -> dict[str, Any]:
    """Every measurement of ``settings``; the JSON report ``smocast bench secure --json`` prints."""
    ticks, load_before = machine_ticks(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="smocast-bench-secure-") as tmp:
        workdir = Path(tmp)
        payload = workdir / "payload.bin"
        data = random.Random(settings.seed).randbytes(settings.size)
        payload.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        report: dict[str, Any] = {
            "settings": {
                "receivers": settings.receivers,
                "size": settings.size,
                "repeat": settings.repeat,
                "rate": settings.rate if settings.testbed else None,
            },
            "goal_ratio": GOAL_RATIO,
            "loopback": loopback(settings, payload, digest, workdir),
        }
        if settings.testbed:
            report["testbed"] = testbed(settings, payload, digest, workdir)
        report["stream"] = stream(settings, workdir)
    report["machine_busy"] = busy_fraction(ticks, machine_ticks())  # the whole machine, other work included
    report["load_average"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    return report


def _mbit(bps: float | None) -> str:
    return f"{bps / 1e6:.1f}" if bps else "-"


def markdown(report: dict[str, Any]) -> str:
    """The report as the tables ``docs/benchmarks.md`` shows (a test keeps the two equal)."""
    lines = [
        "| where | receivers | insecure (Mbit/s) | secure (Mbit/s) | secure / insecure |",
        "|---|---:|---:|---:|---:|",
    ]
    for where in ("loopback", "testbed"):
        for row in report.get(where, []):
            ratio = f"{row['ratio']:.2f}" if row["ratio"] is not None else "-"
            lines.append(
                f"| {where} | {row['receivers']} | {_mbit(row['insecure_goodput_bps'])} "
                f"| {_mbit(row['secure_goodput_bps'])} | {ratio} |"
            )
    s = report["stream"]
    lines += [
        "",
        "| live stream | p50 latency (ms) | p99 latency (ms) |",
        "|---|---:|---:|",
        f"| insecure | {s['insecure_p50_ms']} | {s['insecure_p99_ms']} |",
        f"| secure | {s['secure_p50_ms']} | {s['secure_p99_ms']} |",
        f"| added by the secure mode | {s.get('added_p50_ms')} | {s.get('added_p99_ms')} |",
    ]
    return "\n".join(lines)
