"""How busy the whole machine is, from /proc/stat: benchmarks report it so that a run that
shared the CPUs with other work, or was CPU-bound, shows in its own output."""

from __future__ import annotations

from pathlib import Path


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies summed over all CPUs so far; idle and iowait are not busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


def busy_fraction(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The busy fraction of all CPUs between two :func:`machine_ticks` readings (None if no time passed)."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total > 0 else None
