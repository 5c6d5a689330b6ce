"""The figure of ``smocast bench peers --plot FILE``: four panels against the group size N.

Each peer is one line through its medians; the bars span the fastest and the slowest of its
runs in which every copy was identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (
    ("completion_s", "completion time (s)", 1.0),
    ("goodput_median_bps", "goodput per receiver (Mbit/s)", 1e-6),
    ("receivers_cpu_during_per_mb_s", "receivers' CPU per delivered MB (ms)", 1e3),
    ("sender_cpu_during_s", "source CPU during the transfer (s)", 1.0),
)


def plot(report: dict[str, Any], path: Path) -> None:
    """Draw the report's medians per peer against N into ``path`` (PNG, or whatever the suffix says)."""
    import matplotlib  # noqa: PLC0415  (plotting loads only when asked for)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rows = report["results"]
    sizes = [row["receivers"] for row in rows]
    figure, axes = plt.subplots(2, 2, figsize=(11, 8), constrained_layout=True)
    for ax, (metric, label, scale) in zip(axes.flat, PANELS, strict=True):
        for peer in report["peers"]:
            middle, low, high = _series(rows, peer, metric, scale)
            errors = [
                [m - lo for m, lo in zip(middle, low, strict=True)],
                [h - m for m, h in zip(middle, high, strict=True)],
            ]
            ax.errorbar(sizes, middle, yerr=errors, marker="o", capsize=3, label=peer)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.set_xlabel("receivers N")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes.flat[0].legend()
    loss = f", {report['loss']:.1%} loss" if report["loss"] else ""
    figure.suptitle(
        f"{report['size_bytes'] / 1e6:.1f} MB to N receivers, link {report['rate']}{loss}, MTU {report['mtu']}"
        f" (medians of {report['repeat']}; bars: min-max)"
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _series(rows: list[dict[str, Any]], peer: str, metric: str, scale: float) -> tuple[list[float], ...]:
    """Median, minimum and maximum of ``metric`` per N (NaN where no run succeeded)."""
    middle, low, high = [], [], []
    for row in rows:
        values = [run[metric] * scale for run in row["runs"].get(peer, []) if run["all_identical"] and run[metric]]
        median = row["medians"].get(peer, {}).get(metric)
        middle.append(median * scale if median is not None else float("nan"))
        low.append(min(values) if values else float("nan"))
        high.append(max(values) if values else float("nan"))
    return middle, low, high
