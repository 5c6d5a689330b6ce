"""The figure of ``smocast sim classes --plot``: measured against modelled maximum throughput.

One column per loss rate. Top row: Λ against R on log axes, the model as a line per class
(evaluated at every R on a fine grid), the measurements as markers. Bottom row: the ratio of
measured to modelled Λ at each measured point, with the ±10% band of the issue's run (a).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from smocast.model import Costs, ModelOptions, expected_transmissions, loss_odds, throughput

COLOURS = {
    "A": "tab:red",
    "N1": "tab:orange",
    "N2": "tab:olive",
    "H1": "tab:blue",
    "H2": "tab:green",
    "R": "tab:purple",
}
MARKERS = {"A": "o", "N1": "s", "N2": "D", "H1": "^", "H2": "v", "R": "P"}


def _grid(largest: int) -> list[int]:
    points, r = [], 1.0
    while r <= largest * 1.0001:
        points.append(round(r))
        r *= 1.25
    return sorted(set(points) | {largest})


def plot_classes(
    points: Sequence[dict[str, Any]],
    path: str,
    title: str = "",
    costs: Costs | None = None,
    options: ModelOptions | None = None,
) -> None:
    """Draw ``points`` (the ``as_json`` of each run) into the PNG file ``path``."""
    import matplotlib  # noqa: PLC0415  (plotting loads only when asked for)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    costs = costs or Costs()
    options = options or ModelOptions()
    losses = sorted({pt["p"] for pt in points})
    classes = [c for c in COLOURS if any(pt["class"] == c for pt in points)]
    largest = max(pt["receivers"] for pt in points)
    fig, axes = plt.subplots(
        2, len(losses), figsize=(4.6 * len(losses), 7.2), squeeze=False, gridspec_kw={"height_ratios": [3, 1.4]}
    )
    for col, p in enumerate(losses):
        top, bottom = axes[0][col], axes[1][col]
        for cls in classes:
            mine = sorted((pt for pt in points if pt["class"] == cls and pt["p"] == p), key=lambda x: x["receivers"])
            if not mine:
                continue
            grid = _grid(largest)
            top.plot(
                grid,
                [throughput(cls, p, r, costs, options) for r in grid],
                color=COLOURS[cls],
                lw=1.2,
                label=f"{cls} model",
            )
            xs = [pt["receivers"] for pt in mine]
            top.plot(
                xs,
                [pt["measured"]["throughput"] for pt in mine],
                MARKERS[cls],
                color=COLOURS[cls],
                ms=7,
                mfc="none",
                mew=1.6,
                label=f"{cls} measured",
            )
            ratios = [pt["measured"]["throughput"] / pt["model"]["throughput"] for pt in mine]
            bottom.plot(xs, ratios, MARKERS[cls] + "-", color=COLOURS[cls], ms=6, mfc="none", lw=0.8)
        top.set(
            xscale="log",
            yscale="log",
            title=f"p = {p:g}",
            xlabel="receivers R",
            ylabel="max throughput Λ (packets per unit cost)",
        )
        top.grid(True, which="both", alpha=0.3)
        bottom.axhspan(0.9, 1.1, color="0.85", zorder=0)
        bottom.axhline(1.0, color="0.4", lw=0.8)
        bottom.set(xscale="log", xlabel="receivers R", ylabel="measured / model Λ")
        bottom.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2, loc="lower left")
    if title:
        fig.suptitle(textwrap.fill(title, 30 * len(losses)), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_naks(points: Sequence[dict[str, Any]], path: str, title: str = "", branching: int = 10) -> None:
    """NAKs per packet reaching the source (X_n) against R, for the NAK-based classes: the
    measurement against ideal suppression (E[M] − 1 for N2, E[M_B] − 1 for H2) and against N1's R·q."""
    import matplotlib  # noqa: PLC0415  (plotting loads only when asked for)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    losses = sorted({pt["p"] for pt in points})
    largest = max(pt["receivers"] for pt in points)
    fig, axes = plt.subplots(1, len(losses), figsize=(4.6 * len(losses), 4.2), squeeze=False)
    for col, p in enumerate(losses):
        ax = axes[0][col]
        grid = _grid(largest)
        ax.plot(grid, [r * loss_odds(p) for r in grid], color=COLOURS["N1"], lw=1.2, label="N1 model: R·q")
        ax.plot(
            grid,
            [expected_transmissions(p, r) - 1 for r in grid],
            color=COLOURS["N2"],
            lw=1.2,
            label="N2 ideal: E[M] − 1",
        )
        ax.plot(
            grid,
            [expected_transmissions(p, min(r, branching)) - 1 for r in grid],
            color=COLOURS["H2"],
            lw=1.2,
            ls="--",
            label="H2 ideal: E[M_B] − 1",
        )
        for cls in ("N1", "N2", "H2"):
            mine = sorted((pt for pt in points if pt["class"] == cls and pt["p"] == p), key=lambda x: x["receivers"])
            if mine:
                ax.plot(
                    [pt["receivers"] for pt in mine],
                    [pt["ops"]["sender"].get("X_n", 0.0) for pt in mine],
                    MARKERS[cls],
                    color=COLOURS[cls],
                    ms=7,
                    mfc="none",
                    mew=1.6,
                    label=f"{cls} measured",
                )
        ax.set(
            xscale="log",
            yscale="log",
            title=f"p = {p:g}",
            xlabel="receivers R",
            ylabel="NAKs per packet at the source (X_n)",
        )
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(textwrap.fill(title, 30 * len(losses)), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
