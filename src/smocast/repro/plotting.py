"""Shared plotting plumbing for the reproduced figures (matplotlib loads only when a plot is asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

CLASS_STYLES = {
    "A": ("tab:red", "-"),
    "N1": ("tab:orange", "--"),
    "N2": ("tab:green", "-."),
    "H1": ("tab:purple", ":"),
    "H2": ("tab:blue", "-"),
    "R": ("tab:brown", "--"),
}


def figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (6.4, 4.0)) -> tuple[Any, list[Any]]:
    """A figure with ``rows`` × ``columns`` panels of ``size`` inches each; the axes as a flat list."""
    import matplotlib  # noqa: PLC0415  (plotting is optional and slow to import)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(
        rows, columns, figsize=(size[0] * columns, size[1] * rows), squeeze=False, layout="constrained"
    )
    return fig, [ax for row in axes for ax in row]


def save(fig: Any, directory: Path, name: str) -> Path:
    """Write ``fig`` to ``directory/name.png`` and close it; returns the path."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def finish(ax: Any, xlabel: str, ylabel: str, title: str = "", legend: bool = True) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize="medium")
    ax.grid(True, which="both", alpha=0.3)
    if legend:
        ax.legend(fontsize="small")


def lines(ax: Any, xs: Sequence[float], series: dict[str, Sequence[float]], style: str = "o-") -> None:
    """One line per entry of ``series`` over the same ``xs``."""
    for label, ys in series.items():
        ax.plot(xs, ys, style, label=label)
