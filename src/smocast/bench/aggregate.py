"""``smocast bench aggregate``: the master's aggregation step alone, counted against a scan.

On every ACK the source updates one child's value (its acknowledged edge, or its congestion
window) and needs the channel-wide minimum. The channel keeps the values in a
:class:`~smocast.core.aggregate.CountedMin`; the baseline, measured in the same run, scans
every child for the minimum. Receivers ack in rounds (each advances by one segment per
round, in a shuffled order), as under the default ``slowest`` policy.

The counting structure's cost must stay flat as the group grows; the scan's grows with it.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from smocast.core.aggregate import CountedMin

SEGMENT = 1448


def _rounds(receivers: int, acks: int, seed: int) -> list[int]:
    """The order in which receivers ack: ``acks`` indexes, each round a fresh shuffle."""
    rng = random.Random(seed)
    order: list[int] = []
    while len(order) < acks:
        round_ = list(range(receivers))
        rng.shuffle(round_)
        order.extend(round_)
    return order[:acks]


def _time_counted(receivers: int, order: list[int]) -> float:
    values = [0] * receivers
    counted = CountedMin()
    for value in values:
        counted.add(value)
    replace, minimum = counted.replace, counted.minimum
    least: int | None = 0
    start = time.perf_counter()
    for i in order:
        old = values[i]
        values[i] = old + SEGMENT
        replace(old, old + SEGMENT)
        least = minimum()
    elapsed = time.perf_counter() - start
    _check(least, values)
    return elapsed


def _time_scan(receivers: int, order: list[int]) -> float:
    values = [0] * receivers
    least: int | None = 0
    start = time.perf_counter()
    for i in order:
        values[i] += SEGMENT
        least = min(values)
    elapsed = time.perf_counter() - start
    _check(least, values)
    return elapsed


def _check(least: int | None, values: list[int]) -> None:
    """The timed loop's last minimum must be the true one, or the figure measured a wrong structure."""
    if least != min(values):
        raise AssertionError(f"aggregation tracked minimum {least}, the values' minimum is {min(values)}")


def _median_ns(timer: Callable[[int, list[int]], float], receivers: int, order: list[int], repeat: int) -> float:
    return statistics.median(timer(receivers, order) for _ in range(repeat)) / len(order) * 1e9


def run(receivers: list[int], acks: int, scan_acks: int, repeat: int, seed: int = 1) -> dict[str, Any]:
    """Per-ACK cost of the counting structure and of a scan for each group size, as JSON-ready data.

    ``scan_acks`` bounds the ACKs the scan is timed over (it is slow at large groups).
    """
    results = []
    for n in receivers:
        counted_ns = _median_ns(_time_counted, n, _rounds(n, acks, seed), repeat)
        scan_ns = _median_ns(_time_scan, n, _rounds(n, min(acks, scan_acks), seed), repeat)
        results.append(
            {
                "receivers": n,
                "counted_ns_per_ack": round(counted_ns, 1),
                "scan_ns_per_ack": round(scan_ns, 1),
                "scan_over_counted": round(scan_ns / counted_ns, 1),
            }
        )
    smallest = results[0]["counted_ns_per_ack"] if results else 1.0
    for row in results:
        row["counted_ratio_to_smallest"] = round(row["counted_ns_per_ack"] / smallest, 2)
    return {
        "benchmark": "aggregate",
        "acks_per_run": acks,
        "scan_acks_per_run": scan_acks,
        "repeat": repeat,
        "results": results,
    }
