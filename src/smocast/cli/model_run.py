"""``smocast model ...``: the runs (tables, CSV, figures). The parsers are in :mod:`smocast.cli.model_cmd`."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.table import Table

from smocast.cli.common import console, err_console, fail, print_json
from smocast.model import (
    COST_NAMES,
    Costs,
    ModelOptions,
    SupportablePoint,
    ThroughputPoint,
    baseline_rate,
    relative_speed_required,
    supportable_points,
    throughput,
    throughput_points,
)


def _model_settings(args: argparse.Namespace) -> tuple[Costs, ModelOptions]:
    costs = Costs(B=args.branching).with_values(**dict(args.cost))
    options = ModelOptions(
        received_nak_cost=args.received_nak_cost,
        h2_periodic_cost=args.h2_periodic_cost,
        ring_load=args.ring_load,
        ring_source_pays_recovery=args.ring_source_pays_recovery,
        ring_ack_at_every_receiver=args.ring_ack_at_every_receiver,
        h1_ack_costs=args.h1_ack_costs,
    )
    return costs, options


def _settings_report(costs: Costs, options: ModelOptions) -> dict[str, object]:
    return {"options": options.as_dict(), "costs": {name: getattr(costs, name) for name in COST_NAMES}}


# --- throughput ----------------------------------------------------------------------------------

_ROLE_COLUMNS = ("sender", "receiver", "leader", "token_site")


def run_throughput(args: argparse.Namespace) -> int:
    costs, options = _model_settings(args)
    points = throughput_points(args.classes, args.p, args.receivers, costs, options)
    if args.json:
        print_json({"points": [pt.as_dict() for pt in points], **_settings_report(costs, options)})
    elif args.csv:
        _throughput_csv(points)
    else:
        _throughput_table(points)
    if args.plot:
        _write_figure(args.plot, lambda: plot_throughput(args.plot, args.classes, args.p, costs, options))
    return 0


def _throughput_csv(points: Sequence[ThroughputPoint]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["class", "p", "receivers", "throughput", *_ROLE_COLUMNS])
    for pt in points:
        writer.writerow(
            [
                pt.cls,
                repr(pt.p),
                pt.receivers,
                repr(pt.throughput),
                *(repr(pt.roles[r]) if r in pt.roles else "" for r in _ROLE_COLUMNS),
            ]
        )


def _number(value: float) -> str:
    """Four significant digits, without an exponent for costs up to 10^9."""
    return f"{value:.0f}" if 1e4 <= abs(value) < 1e9 else f"{value:.4g}"


def _throughput_table(points: Sequence[ThroughputPoint]) -> None:
    table = Table(
        title="maximum throughput Λ and expected cost per packet of each role",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        caption="* bottleneck role: Λ = 1 / its cost",
        caption_justify="left",
    )
    for name in ("class", "p", "R", "Λ", "sender", "receiver", "leader", "token site"):
        table.add_column(name, justify="left" if name == "class" else "right", min_width=len(name))
    previous = None
    for pt in points:
        if previous is not None and pt.p != previous:
            table.add_section()
        previous = pt.p
        worst = pt.bottleneck
        roles = [
            ("-" if r not in pt.roles else _number(pt.roles[r]) + ("*" if r == worst else "")) for r in _ROLE_COLUMNS
        ]
        table.add_row(pt.cls, f"{pt.p:g}", str(pt.receivers), f"{pt.throughput:.4g}", *roles)
    console.print(table)


# --- supportable receivers -----------------------------------------------------------------------


def run_supportable(args: argparse.Namespace) -> int:
    costs, options = _model_settings(args)
    points = supportable_points(
        args.classes, args.p, args.speeds, args.baseline_receivers, costs, options, args.max_receivers
    )
    baselines = [
        {
            "p": p,
            "baseline_receivers": args.baseline_receivers,
            "baseline_throughput": baseline_rate(p, args.baseline_receivers, costs, options),
        }
        for p in args.p
    ]
    if args.json:
        print_json(
            {
                "points": [pt.as_dict() for pt in points],
                "baseline": baselines,
                "max_receivers": args.max_receivers,
                **_settings_report(costs, options),
            }
        )
    elif args.csv:
        _supportable_csv(points)
    else:
        _supportable_table(points, args.max_receivers)
    if args.plot:
        _write_figure(
            args.plot,
            lambda: plot_supportable(args.plot, args.classes, args.p, args.baseline_receivers, costs, options),
        )
    return 0


def _supportable_csv(points: Sequence[SupportablePoint]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["class", "p", "speed", "supportable_receivers", "unbounded", "at_search_limit"])
    for pt in points:
        count = "" if pt.receivers is None else pt.receivers
        writer.writerow(
            [pt.cls, repr(pt.p), repr(pt.speed), count, str(pt.unbounded).lower(), str(pt.at_search_limit).lower()]
        )


def _supportable_table(points: Sequence[SupportablePoint], limit: int) -> None:
    table = Table(
        title="supportable receivers vs processor speed (baseline: protocol A)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
    )
    for name in ("class", "p", "speed", "supportable receivers"):
        table.add_column(name, justify="left" if name == "class" else "right")
    previous = None
    for pt in points:
        if previous is not None and pt.p != previous:
            table.add_section()
        previous = pt.p
        if pt.unbounded:
            shown = "unbounded"
        elif pt.at_search_limit:
            shown = f">= {limit}"
        else:
            shown = str(pt.receivers)
        table.add_row(pt.cls, f"{pt.p:g}", f"{pt.speed:g}", shown)
    console.print(table)


# --- figures -------------------------------------------------------------------------------------

_STYLES = {
    "A": ("tab:red", "-"),
    "N1": ("tab:orange", "--"),
    "N2": ("tab:green", "-."),
    "H1": ("tab:purple", ":"),
    "H2": ("tab:blue", "-"),
    "R": ("tab:brown", "--"),
}


def _write_figure(path: str, draw: Callable[[], None]) -> None:
    try:
        draw()
    except OSError as exc:
        fail(f"cannot write the figure {path}: {exc.strerror or exc}")
    err_console.print(f"figure written to {path}")


def log_grid(high: int, points: int) -> list[int]:
    """About ``points`` distinct whole numbers from 1 to ``high``, evenly spaced on a log axis."""
    values = {round(high ** (i / (points - 1))) for i in range(points)}
    return sorted(v for v in values if v >= 1)


def _figure(panels: int) -> tuple[Any, list[Any]]:
    import matplotlib  # noqa: PLC0415  (plotting loads only when asked for)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axes = plt.subplots(panels, 1, figsize=(7.0, 3.2 * panels), squeeze=False)
    return fig, [row[0] for row in axes]


def _save(fig: Any, path: str) -> None:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_throughput(
    path: str, classes: Sequence[str], losses: Sequence[float], costs: Costs, options: ModelOptions, high: int = 10_000
) -> None:
    """Figure 6: log-log Λ vs R (1..high, dense grid), one panel per p, one curve per class."""
    grid = log_grid(high, 241)
    fig, axes = _figure(len(losses))
    for ax, p in zip(axes, losses, strict=True):
        for cls in classes:
            colour, style = _STYLES[cls]
            ax.plot(grid, [throughput(cls, p, r, costs, options) for r in grid], style, color=colour, label=cls)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(1, high)
        ax.set_title(f"p = {p:g}, B = {costs.B}")
        ax.set_xlabel("number of receivers R")
        ax.set_ylabel("max throughput Λ")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", ncol=3)
    _save(fig, path)


def plot_supportable(
    path: str,
    classes: Sequence[str],
    losses: Sequence[float],
    baseline_receivers: int,
    costs: Costs,
    options: ModelOptions,
    high: int = 10**6,
    max_speed: float = 100.0,
) -> None:
    """Figure 7: supportable receivers vs relative processor speed, one panel per p, one curve per class.

    Drawn as the curve (s_w(R), R) for R = 1..high on a dense grid, where s_w(R) = λ0 / Λ^w(R) is
    the speed class w needs for R receivers: the inverse of R*_w(s). A tree's curve turns vertical
    at the speed from which it supports any number of receivers.
    """
    grid = log_grid(high, 301)
    fig, axes = _figure(len(losses))
    for ax, p in zip(axes, losses, strict=True):
        rate = baseline_rate(p, baseline_receivers, costs, options)
        for cls in classes:
            colour, style = _STYLES[cls]
            speeds = [relative_speed_required(cls, p, r, rate, costs, options) for r in grid]
            ax.plot(speeds, grid, style, color=colour, label=cls)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(0.5, max_speed)
        ax.set_ylim(1, high)
        ax.set_title(f"p = {p:g}, B = {costs.B}, baseline: A with R0 = {baseline_receivers} at speed 1")
        ax.set_xlabel("relative processor speed s")
        ax.set_ylabel("supportable receivers R*")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small", ncol=3, loc="lower right")
    _save(fig, path)
