"""``smocast model ...``: the analytic maximum-throughput model of the reliable multicast classes."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.table import Table

from smocast.cli.common import (
    HelpFormatter,
    console,
    err_console,
    fail,
    int_list,
    positive_int,
    print_json,
    show_help,
)
from smocast.model import (
    CLASS_DESCRIPTIONS,
    CLASSES,
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

_CLASS_LINES = "\n".join(f"  {name:<3} {text}" for name, text in CLASS_DESCRIPTIONS.items())

DESCRIPTION = f"""\
The analytic model of Pingali/Towsley/Kurose and Levine/Garcia-Luna-Aceves: the expected
processing cost per packet of every host role (sender, receiver, tree group leader, ring token
site) of each reliable multicast class, and the maximum throughput 1 / (largest role cost).
Losses are independent per receiver and transmission with probability p; control packets are
never lost. Costs are in units of one packet-processing time. See docs/model.md.

classes:
{_CLASS_LINES}
"""

_SWITCHES = """\
The options from --received-nak-cost to --h1-ack-costs are the model's open choices: the
published equations could not be recovered, so each choice is a switch whose default is the
reference's reading (docs/model.md lists them with their effect).
"""

_COST_LIST = ", ".join(n for n in COST_NAMES if n != "B")

THROUGHPUT_DESCRIPTION = f"""\
Maximum throughput (packets per unit of processing time) of each class, for every
combination of loss probability and number of receivers: Figure 6 of Levine's comparison.
Every mean processing cost is 1 except the periodic costs X_pa = Y_pa = 0.1 and Y_nr = 0; the
trees have B = 10 children per group leader. Change a cost with --cost NAME=VALUE, names:
{_COST_LIST}.

{_SWITCHES}
examples:
  smocast model throughput                                   # the Figure 6 grid as a table
  smocast model throughput --classes N2,H2 --p 0.01 --receivers 100 --json
  smocast model throughput --csv > throughput.csv
  smocast model throughput --plot figure6.png                # log-log, one panel per p
  smocast model throughput --classes H2 --h2-periodic-cost single --cost Y_pa=0.05
"""

SUPPORTABLE_DESCRIPTION = f"""\
How many receivers each class supports on a processor s times faster than the baseline:
Figure 7 of Levine's comparison. The baseline is protocol A supporting exactly
--baseline-receivers receivers (1 in the paper) on a processor of speed 1; its throughput
lambda0 = Throughput_A(R0) is the rate every class must sustain. A class supports R receivers
at speed s when s * Throughput(R) >= lambda0. Trees support any number once s is large enough
("unbounded"); the search for the others stops at --max-receivers.

{_SWITCHES}
examples:
  smocast model supportable                                  # speeds 1..100, all classes
  smocast model supportable --classes N2,H2,R --p 0.1 --speeds 1,2,4 --json
  smocast model supportable --plot figure7.png               # receivers vs speed, per p
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "model",
        help="the analytic throughput model of the reliable multicast classes",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    group = parser.add_subparsers(title="models", metavar="<model>")
    tput = group.add_parser(
        "throughput",
        help="maximum throughput per class vs receivers (Figure 6)",
        description=THROUGHPUT_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    _add_common(tput, plot_help="also draw Figure 6 (log-log throughput vs receivers, R = 1..10000) as PNG")
    tput.add_argument(
        "--receivers",
        type=int_list,
        default="1,10,100,1000,10000",
        metavar="R,...",
        help="comma-separated numbers of receivers R (each >= 1)",
    )
    tput.set_defaults(handler=run_throughput)
    supp = group.add_parser(
        "supportable",
        help="supportable receivers vs relative processor speed (Figure 7)",
        description=SUPPORTABLE_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    _add_common(supp, plot_help="also draw Figure 7 (receivers vs relative speed, R = 1..10^6) as PNG")
    supp.add_argument(
        "--speeds",
        type=speed_list,
        default="1,2,5,10,20,50,100",
        metavar="S,...",
        help="comma-separated processor speeds relative to the baseline (each > 0)",
    )
    supp.add_argument(
        "--baseline-receivers",
        type=positive_int,
        default=1,
        metavar="R0",
        help="receivers protocol A supports on the speed-1 baseline processor",
    )
    supp.add_argument(
        "--max-receivers",
        type=positive_int,
        default=10**9,
        help="stop searching here; a result at the limit is shown as '>= limit'",
    )
    supp.set_defaults(handler=run_supportable)
    parser.set_defaults(handler=show_help(parser))


def _add_common(p: argparse.ArgumentParser, plot_help: str) -> None:
    p.add_argument(
        "--classes",
        type=class_list,
        default=",".join(CLASSES),
        metavar="CLASS,...",
        help="comma-separated classes (case-insensitive)",
    )
    p.add_argument(
        "--p",
        type=loss_list,
        default="0.01,0.1,0.25",
        metavar="P,...",
        help="comma-separated loss probabilities, each in (0, 1)",
    )
    p.add_argument(
        "--branching", type=positive_int, default=10, metavar="B", help="children per group leader in the trees H1, H2"
    )
    p.add_argument(
        "--cost",
        type=cost_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one mean processing cost, e.g. X_a=2 (repeatable)",
    )
    defaults = ModelOptions()
    p.add_argument(
        "--received-nak-cost",
        choices=["y_nr", "y_n"],
        default=defaults.received_nak_cost,
        help="cost of a NAK heard from another receiver (N2, H2): Y_nr (0 by default) or Y_n",
    )
    p.add_argument(
        "--h2-periodic-cost",
        choices=["per_child", "single"],
        default=defaults.h2_periodic_cost,
        help="H2 parent's periodic cost per packet: B*X_pa or a single X_pa",
    )
    p.add_argument(
        "--ring-load",
        choices=["token_site", "rotating"],
        default=defaults.ring_load,
        help="ring: token site as its own bottleneck role, or load averaged over rotation",
    )
    p.add_argument(
        "--ring-source-pays-recovery",
        action=argparse.BooleanOptionalAction,
        default=defaults.ring_source_pays_recovery,
        help="ring: the source pays q*(X_n+X_p) to repair the token site's losses",
    )
    p.add_argument(
        "--ring-ack-at-every-receiver",
        action=argparse.BooleanOptionalAction,
        default=defaults.ring_ack_at_every_receiver,
        help="ring: every receiver pays Y_a for the token site's ACK/token",
    )
    p.add_argument(
        "--h1-ack-costs",
        choices=["local", "global"],
        default=defaults.h1_ack_costs,
        help="H1 local ACK costs: X_h/Y_h (local) or X_a/Y_a (global)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true", help='print one JSON object: {"points": [...], "options": ..., "costs": ...}'
    )
    out.add_argument("--csv", action="store_true", help="print CSV with a header row")
    p.add_argument("--plot", metavar="FILE.png", default=None, help=plot_help)


# --- argument types ----------------------------------------------------------------------------


def class_list(text: str) -> list[str]:
    """``A,n2,H2`` -> ["A", "N2", "H2"] (case-insensitive, duplicates dropped)."""
    names: list[str] = []
    for part in (s.strip().upper() for s in text.split(",")):
        if part and part not in names:
            if part not in CLASSES:
                raise argparse.ArgumentTypeError(f"unknown class {part!r}; choose from {', '.join(CLASSES)}")
            names.append(part)
    if not names:
        raise argparse.ArgumentTypeError("need at least one class")
    return names


def _float_list(text: str, what: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values:
        raise argparse.ArgumentTypeError(f"need at least one {what}")
    return values


def loss_list(text: str) -> list[float]:
    """``0.01,0.1`` -> [0.01, 0.1]; each must lie strictly between 0 and 1."""
    values = _float_list(text, "loss probability")
    bad = [v for v in values if not 0.0 < v < 1.0]
    if bad:
        raise argparse.ArgumentTypeError(f"a loss probability must be in (0, 1), got {bad[0]}")
    return values


def speed_list(text: str) -> list[float]:
    """``1,2.5,10`` -> [1.0, 2.5, 10.0]; each must be a positive finite number."""
    values = _float_list(text, "speed")
    bad = [v for v in values if not 0.0 < v < float("inf")]
    if bad:
        raise argparse.ArgumentTypeError(f"a relative processor speed must be positive, got {bad[0]}")
    return values


def cost_assignment(text: str) -> tuple[str, float]:
    """``X_a=2`` -> ("X_a", 2.0); the name must be a cost parameter other than B."""
    name, sep, value = text.partition("=")
    name = name.strip()
    names = [n for n in COST_NAMES if n != "B"]
    if not sep or name not in names:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE with NAME one of {', '.join(names)}; got {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number (in {text!r})") from None
    if not 0.0 <= number < float("inf"):
        raise argparse.ArgumentTypeError(f"a cost must be a finite number >= 0, got {text!r}")
    return name, number


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
