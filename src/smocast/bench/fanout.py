"""``smocast bench fanout``: one file to N receivers on the namespace testbed, smocast against N x TCP.

For each group size N, in one testbed (host 0 the sender, its egress shaped to ``rate``;
receiver hosts unshaped), two transfers of the same generated file, one after the other:

* smocast: one ``smocast send`` to N ``smocast recv`` processes (each writes and verifies
  its copy);
* TCP: N parallel kernel-TCP unicast transfers from host 0 (:mod:`smocast.bench.tcp_baseline`),
  each client hashing what it reads.

Receivers are spread round-robin over the receiver hosts ``h1..hH``, ``H = min(max N, hosts)``:
one receiver per host while N <= H, then several per host (N = 64 on 16 hosts: 4 per host).

For each method it reports the completion time (the last receiver), the goodput of each
receiver (file bits over its completion time, both counted from the moment the source
starts sending; median and minimum), host 0's transmitted bytes (``tx_bytes`` of its
interface, so headers included) against the file size, the CPU each process used (start-up
included), and the machine's busy fraction while the data flowed, so a CPU-bound run shows.
It needs root (network namespaces); the testbed is always torn down, also on errors and Ctrl-C.
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

from smocast.bench.fanout_runs import Transfer, cpu_count, run_smocast, run_tcp
from smocast.core.units import parse_rate
from smocast.testbed import Testbed
from smocast.testbed.layout import validate_prefix
from smocast.testbed.runner import TestbedUnavailable, check_prerequisites

DEFAULT_PREFIX = "bfo"
PORT = 47300  # smocast uses PORT + 2i, TCP PORT + 2i + 1, for the i-th group size
GROUP = "232.77.9.1"  # source-specific: each receiver joins (host 0, group)
GOAL_EGRESS_RATIO = 1.1
GOAL_GOODPUT_BPS = 85e6
GOAL_AT_RECEIVERS = 64


@dataclass(frozen=True, slots=True)
class FanoutSettings:
    receivers: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    rate: str = "100mbit"
    size: int = 20 << 20
    hosts: int = 16
    prefix: str = DEFAULT_PREFIX
    seed: int = 1

    def __post_init__(self) -> None:
        if not self.receivers or min(self.receivers) < 1:
            raise ValueError("every group size must be at least 1")
        if self.size < 1:
            raise ValueError("the file must not be empty")
        if not 1 <= self.hosts <= 999:
            raise ValueError("--hosts must be in 1..999 (a bridge holds at most 1000 hosts)")
        parse_rate(self.rate)  # ConfigError now rather than after building the testbed
        validate_prefix(self.prefix)

    @property
    def receiver_hosts(self) -> int:
        return min(max(self.receivers), self.hosts)


def placement(receivers: int, hosts: int) -> list[int]:
    """The host of each receiver: round-robin over hosts 1..``hosts``."""
    return [1 + i % hosts for i in range(receivers)]


def require_root() -> None:
    """Raise TestbedUnavailable (one line) unless this process can build the testbed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        raise TestbedUnavailable("needs root to build the testbed's network namespaces (run it as root)")
    check_prerequisites()


def write_payload(path: Path, size: int, seed: int) -> str:
    """A file of ``size`` seeded random bytes; returns its SHA-256."""
    data = random.Random(seed).randbytes(size)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def run(settings: FanoutSettings) -> dict[str, Any]:
    """Build the testbed, run both methods for every group size, tear it down; the JSON report."""
    require_root()
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="smocast-fanout-") as tmp,
        Testbed(settings.prefix).running(hosts=1 + settings.receiver_hosts) as tb,
    ):
        tb.set_rate(0, settings.rate)
        payload = Path(tmp) / "payload.bin"
        digest = write_payload(payload, settings.size, settings.seed)
        for index, n in enumerate(settings.receivers):
            rows.append(_measure(tb, payload, digest, n, index, settings, Path(tmp)))
    return _report(settings, rows)


def _measure(
    tb: Testbed, payload: Path, digest: str, n: int, index: int, settings: FanoutSettings, tmp: Path
) -> dict[str, Any]:
    hosts = placement(n, settings.receiver_hosts)
    workdir = Path(tempfile.mkdtemp(prefix=f"n{n}-", dir=tmp))
    try:
        smo = run_smocast(tb, payload, digest, hosts, PORT + 2 * index, f"{GROUP}:{PORT + 2 * index}", workdir)
    finally:
        _remove_copies(workdir)
    tcp = run_tcp(tb, payload, digest, hosts, PORT + 2 * index + 1)
    return {
        "receivers": n,
        "receiver_hosts": len(set(hosts)),
        "receivers_per_host": max(hosts.count(h) for h in set(hosts)),
        "smocast": summarise(smo, settings.size),
        "tcp": summarise(tcp, settings.size),
    }


def _remove_copies(workdir: Path) -> None:
    """Delete the receivers' copies (N x the file size on disk) as soon as a run is over."""
    for item in sorted(workdir.rglob("*"), reverse=True):
        if item.is_dir():
            item.rmdir()
        else:
            item.unlink()
    workdir.rmdir()


def summarise(transfer: Transfer, size: int) -> dict[str, Any]:
    """One method at one group size, as reported: times, goodputs, egress, CPU, errors."""
    times = transfer.times_s
    goodputs = [size * 8 / t for t in times if t > 0]
    return {
        "completed": transfer.verified,
        "receivers": transfer.receivers,
        "completion_s": max(times) if times else None,
        "goodput_median_bps": round(statistics.median(goodputs)) if goodputs else None,
        "goodput_min_bps": round(min(goodputs)) if goodputs else None,
        "egress_bytes": transfer.egress_bytes,
        "egress_ratio": round(transfer.egress_bytes / size, 3),
        "source_cpu_s": transfer.source_cpu_s,
        "receiver_cpu_s_median": statistics.median(transfer.receiver_cpu_s) if transfer.receiver_cpu_s else None,
        "processes_cpu_s": round(transfer.source_cpu_s + sum(transfer.receiver_cpu_s), 3),
        "machine_busy_while_sending": transfer.machine_busy,
        "receiver_times_s": times,
        **transfer.extra,
        "errors": transfer.errors[:5],
    }


def _report(settings: FanoutSettings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "benchmark": "fanout",
        "rate": settings.rate,
        "rate_bps": round(parse_rate(settings.rate)),
        "size_bytes": settings.size,
        "receiver_hosts": settings.receiver_hosts,
        "placement": "round-robin over the receiver hosts; sender egress shaped by tc tbf, receivers unshaped",
        "cpus": cpu_count(),
        "goals": goals(rows),
        "results": rows,
    }


def goals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's goals against smocast's figures: egress at 0% loss, and goodput at N = 64."""
    ratios = [row["smocast"]["egress_ratio"] for row in rows]
    at_goal_size = [row["smocast"]["goodput_min_bps"] for row in rows if row["receivers"] == GOAL_AT_RECEIVERS]
    goodput = at_goal_size[0] if at_goal_size else None
    return {
        "egress_ratio_max": GOAL_EGRESS_RATIO,
        "smocast_egress_ratio_worst": max(ratios),
        "egress_met": max(ratios) <= GOAL_EGRESS_RATIO,
        "goodput_min_bps": GOAL_GOODPUT_BPS,
        "goodput_at_receivers": GOAL_AT_RECEIVERS,
        "smocast_goodput_min_bps_at_goal_size": goodput,
        "goodput_met": goodput >= GOAL_GOODPUT_BPS if goodput is not None else None,
    }
