"""The reports of ``smocast bench ack-server`` (:mod:`smocast.bench.ack_server` runs it).

* :class:`Snapshot`: the source's counters at one moment; :func:`run_report`: one run's
  figures from two snapshots and the generators' own reports;
* :func:`medians_report`: the medians of the runs beside the bare loop's floor, and
  :func:`add_baseline` the other tree's runs with the ratio (before and after in one run);
* :func:`compare_report` and :func:`compare_markdown`: ``--compare-secure``, both modes and
  their ratio, as JSON and as the table of ``docs/benchmarks.md``.

Every figure is a median of runs measured in the same process; nothing here measures.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smocast.bench.machine import busy_fraction, machine_ticks

if TYPE_CHECKING:
    from smocast.aio import AsyncChannel

GOAL_ACKS_PER_S = 250_000


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The source's counters at one moment."""

    at: float
    cpu: float
    acks: int
    segments: int
    repairs: int
    ticks: tuple[int, int]

    @classmethod
    def take(cls, channel: AsyncChannel) -> Snapshot:
        stats = channel.stats
        return cls(
            time.monotonic(),
            time.process_time(),
            stats.acks_processed,
            stats.original_segments,
            stats.repair_unicast + stats.repair_multicast,
            machine_ticks(),
        )


def run_report(
    channel: AsyncChannel, before: Snapshot, after: Snapshot, bytes_acked: int, reports: list[dict[str, Any]]
) -> dict[str, Any]:
    seconds = after.at - before.at
    acks = after.acks - before.acks
    cpu = after.cpu - before.cpu
    sent_window = sum(r["window_acks_sent"] for r in reports)
    sent_total = sum(r["acks_sent_total"] for r in reports)
    processed_total = channel.stats.acks_processed
    gen_seconds = max(r["window_seconds"] for r in reports) or seconds
    return {
        "seconds": round(seconds, 4),
        "acks_processed": acks,
        "acks_per_s": round(acks / seconds),
        "source_cpu_s": round(cpu, 4),
        "cpu_ns_per_ack": round(cpu / acks * 1e9) if acks else None,
        "acks_per_cpu_s": round(acks / cpu) if cpu > 0 else None,
        "source_cpu_utilisation": round(cpu / seconds, 3),
        "mean_bytes_per_ack": round(bytes_acked / acks) if acks else None,
        "generator_acks_sent": sent_window,
        "generator_send_rate_acks_per_s": round(sent_window / gen_seconds),
        "generator_cpu_utilisation": round(sum(r["window_cpu_seconds"] for r in reports) / gen_seconds, 3),
        "machine_busy": busy_fraction(before.ticks, after.ticks),
        "acks_sent_total": sent_total,
        "acks_processed_total": processed_total,
        "acks_lost": sent_total - processed_total,
        "ack_loss": round((sent_total - processed_total) / sent_total, 5) if sent_total else 0.0,
        "data_segments_sent": after.segments - before.segments,
        "repairs_sent": after.repairs - before.repairs,
        "receivers_live_at_end": len(channel.receivers()),
        "received_by_generators": merge_counts(r["received_by_type"] for r in reports),
    }


def merge_counts(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """The sum, kind by kind, of several counts by kind."""
    total: dict[str, int] = {}
    for count in counts:
        for kind, n in count.items():
            total[kind] = total.get(kind, 0) + n
    return total


def medians_report(
    head: dict[str, Any],
    runs: list[dict[str, Any]],
    bare: list[dict[str, Any]],
    saturated: list[int],
    batched: int | None,
) -> dict[str, Any]:
    """The report of ``runs`` (each :func:`run_report`'s): ``head`` (what was run) first, then the
    medians, the bare loop's ``bare`` runs and ``saturated`` costs, the batch reader's cost."""
    median = statistics.median
    rate = median(r["acks_per_s"] for r in runs)
    per_ack = median_or_none([r["cpu_ns_per_ack"] for r in runs])
    bare_ns = median_or_none([b["cpu_ns_per_datagram"] for b in bare])
    report: dict[str, Any] = {
        **head,
        "acks_per_s": round(rate),
        "cpu_ns_per_ack": per_ack,
        "acks_per_cpu_s": median_or_none([r["acks_per_cpu_s"] for r in runs]),
        "source_cpu_utilisation": median(r["source_cpu_utilisation"] for r in runs),
        "generator_send_rate_acks_per_s": round(median(r["generator_send_rate_acks_per_s"] for r in runs)),
        "ack_loss": median(r["ack_loss"] for r in runs),
        "bare_recvfrom_into_ns_per_datagram": bare_ns,
        "ratio_to_bare_loop": round(per_ack / bare_ns, 3) if per_ack and bare_ns else None,
        "bare_saturated_ns_per_datagram": round(statistics.median(saturated)),
        "batch_reader_saturated_ns_per_datagram": batched,
        "ratio_to_saturated_bare_loop": round(per_ack / statistics.median(saturated), 3) if per_ack else None,
        "cpus": len(os.sched_getaffinity(0)),
        "goal_acks_per_s": GOAL_ACKS_PER_S,
        "meets_goal": rate >= GOAL_ACKS_PER_S,
        "runs": runs,
        "bare_runs": bare,
    }
    return report


def add_baseline(report: dict[str, Any], baseline_src: str | None, baseline: list[dict[str, Any]]) -> None:
    """Add the other tree's ``baseline`` reports (one run each) and the ratio of CPU per ACK to it."""
    median = statistics.median
    per_ack, bare_ns = report["cpu_ns_per_ack"], report["bare_recvfrom_into_ns_per_datagram"]
    before = median_or_none([b["cpu_ns_per_ack"] for b in baseline])
    report["baseline"] = {
        "src": baseline_src,
        "cpu_ns_per_ack": before,
        "acks_per_s": round(median(b["acks_per_s"] for b in baseline)),
        "ratio_to_bare_loop": round(before / bare_ns, 3) if before and bare_ns else None,
        "runs": [b["runs"][0] for b in baseline],
    }
    report["ratio_to_baseline"] = round(per_ack / before, 3) if per_ack and before else None


def compare_report(receivers: int, repeat: int, runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """``--compare-secure``: each mode's medians of its ``runs``, and the secure mode's CPU per
    ACK against the insecure one's."""
    report: dict[str, Any] = {
        "benchmark": "ack-server --compare-secure",
        "receivers": receivers,
        "repeat": repeat,
    }
    for mode, done in runs.items():
        report[mode] = {
            "cpu_ns_per_ack": median_or_none([r["cpu_ns_per_ack"] for r in done]),
            "acks_per_s": round(statistics.median(r["acks_per_s"] for r in done)),
            "acks_per_cpu_s": median_or_none([r["acks_per_cpu_s"] for r in done]),
            "runs": done,
        }
    insecure, secure_ns = report["insecure"]["cpu_ns_per_ack"], report["secure"]["cpu_ns_per_ack"]
    report["secure_cpu_per_ack_ratio"] = round(secure_ns / insecure, 3) if insecure and secure_ns else None
    return report


def median_or_none(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present)) if present else None


def compare_markdown(report: dict[str, Any]) -> str:
    """The ``--compare-secure`` report as the table ``docs/benchmarks.md`` shows (a test keeps them equal)."""
    lines = [
        f"| mode ({report['receivers']} receivers) | CPU per ACK (ns) | ACKs per CPU second | ACKs/s processed |",
        "|---|---:|---:|---:|",
    ]
    for mode in ("insecure", "secure"):
        row = report[mode]
        lines.append(f"| {mode} | {row['cpu_ns_per_ack']} | {row['acks_per_cpu_s']} | {row['acks_per_s']} |")
    lines.append(f"| secure / insecure | {report['secure_cpu_per_ack_ratio']} | | |")
    return "\n".join(lines)
