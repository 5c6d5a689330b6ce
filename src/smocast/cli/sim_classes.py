"""``smocast sim classes`` and ``smocast sim theorem2``: the six protocol classes in the
simulator, measured against the analytic model, and Levine's Theorem 2 as a scenario."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.classes.config import ClassConfig
from smocast.cli.common import (
    console,
    fail,
    print_json,
)
from smocast.model import ModelOptions
from smocast.sim.classes import ClassRunSpec, run_points
from smocast.sim.classes_theorem2 import Theorem2Spec, run_theorem2


def build_specs(args: argparse.Namespace) -> list[ClassRunSpec]:
    config = ClassConfig(
        buffer=args.buffer, branching=args.branching, c1=args.c1, c2=args.c2, scale_c2=not args.fixed_c2
    )
    options = ModelOptions(received_nak_cost="y_n" if args.charge_heard_naks else "y_nr")
    return [
        ClassRunSpec(
            cls,
            receivers,
            p,
            packets=args.packets,
            seed=args.seed,
            config=config,
            control_loss=args.control_loss,
            correlation=args.correlation,
            delay=args.delay,
            delay_spread=args.delay_spread,
            options=options,
        )
        for p in args.loss
        for cls in args.classes
        for receivers in args.receivers
    ]


def run(args: argparse.Namespace) -> int:
    if any(not 0 < p < 1 for p in args.loss):
        fail("--loss values must be in (0, 1): the model needs p > 0", 2)
    if not 0 <= args.correlation <= 1:
        fail("--correlation must be in [0, 1]", 2)
    specs = build_specs(args)
    with console.status(f"simulating {len(specs)} runs...") if not args.json else _Quiet():
        results = run_points(specs, args.jobs)
    points = [r.as_json() for r in results]
    if args.plot:
        from smocast.sim.classes_plot import plot_classes  # noqa: PLC0415  (matplotlib loads only when asked for)

        plot_classes(points, args.plot, _title(args), specs[0].model_costs, specs[0].options)
    if args.plot_naks:
        from smocast.sim.classes_plot import plot_naks  # noqa: PLC0415

        plot_naks(points, args.plot_naks, _title(args).replace("throughput", "NAKs"), args.branching)
    if args.json:
        print_json({"points": points, "settings": _settings(args)})
    elif args.markdown:
        print(markdown(points), end="")
    else:
        _table(points)
    return 0 if all(pt["all_identical"] for pt in points) else 1


def _title(args: argparse.Namespace) -> str:
    parts = [f"{args.packets} packets", f"B = {args.branching}"]
    if args.control_loss:
        parts.append(f"control loss {args.control_loss:g}")
    if args.correlation:
        parts.append(f"correlation {args.correlation:g}")
    if args.fixed_c2:
        parts.append(f"fixed SRM timers c1 = {args.c1:g}, c2 = {args.c2:g}")
    return "measured (markers) vs model (lines): " + ", ".join(parts)


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "packets": args.packets,
        "control_loss": args.control_loss,
        "correlation": args.correlation,
        "branching": args.branching,
        "buffer": args.buffer,
        "delay": args.delay,
        "delay_spread": args.delay_spread,
        "c1": args.c1,
        "c2": args.c2,
        "scale_c2": not args.fixed_c2,
        "charge_heard_naks": args.charge_heard_naks,
        "seed": args.seed,
    }


def _table(points: list[dict[str, Any]]) -> None:
    table = Table(title="maximum throughput Λ: measured vs model (role costs per packet)", title_justify="left")
    for column in ("class", "R", "p", "identical", "Λ measured", "Λ model", "ratio", "roles measured / model"):
        table.add_column(column, justify="right" if column not in ("class", "roles measured / model") else "left")
    for pt in points:
        measured, model = pt["measured"], pt["model"]
        roles = "  ".join(
            f"{role} {measured['roles'][role]:.3g}/{model['roles'].get(role, float('nan')):.3g}"
            for role in measured["roles"]
        )
        table.add_row(
            pt["class"],
            str(pt["receivers"]),
            f"{pt['p']:g}",
            "[green]yes[/]" if pt["all_identical"] else "[red]NO[/]",
            f"{measured['throughput']:.4g}",
            f"{model['throughput']:.4g}",
            f"{measured['throughput'] / model['throughput']:.3f}",
            roles,
        )
    console.print(table)


def markdown(points: list[dict[str, Any]]) -> str:
    """Two Markdown tables: throughput and role costs against the model, then operations."""
    lines = [
        "| class | R | p | identical | Λ measured | Λ model | measured / model | role costs: measured / model |",
        "|---|---:|---:|:-:|---:|---:|---:|---|",
    ]
    for pt in points:
        measured, model = pt["measured"], pt["model"]
        roles = "; ".join(
            f"{role} {measured['roles'][role]:.4g} / {model['roles'][role]:.4g} "
            f"({measured['roles'][role] / model['roles'][role] - 1:+.1%})"
            for role in measured["roles"]
            if role in model["roles"]
        )
        lines.append(
            f"| {pt['class']} | {pt['receivers']} | {pt['p']:g} | {'yes' if pt['all_identical'] else 'NO'} "
            f"| {measured['throughput']:.4g} | {model['throughput']:.4g} "
            f"| {measured['throughput'] / model['throughput']:.3f} | {roles} |"
        )
    lines += [
        "",
        "| class | R | p | operations per packet, by role (measured) | not in the model (X_s, Y_s) | simulated s |",
        "|---|---:|---:|---|---|---:|",
    ]
    for pt in points:
        ops = "; ".join(
            f"{role}: " + ", ".join(f"{op} {n:.3g}" for op, n in counts.items()) for role, counts in pt["ops"].items()
        )
        extra = (
            "; ".join(
                f"{role}: " + ", ".join(f"{op} {n:.3g}" for op, n in counts.items())
                for role, counts in pt["overhead"].items()
                if counts
            )
            or "-"
        )
        lines.append(f"| {pt['class']} | {pt['receivers']} | {pt['p']:g} | {ops} | {extra} | {pt['sim_time_s']:.3g} |")
    return "\n".join(lines) + "\n"


def run_theorem2_cmd(args: argparse.Namespace) -> int:
    spec = Theorem2Spec(
        receivers=args.receivers,
        packets=args.packets,
        buffer=args.buffer,
        delay=args.delay,
        branching=args.branching,
        time_limit=args.time_limit,
        seed=args.seed,
    )
    outcomes = run_theorem2(spec)
    cases = [o.as_json() for o in outcomes]
    if args.json:
        print_json({"cases": cases})
    elif args.markdown:
        print(
            "| class | way out | outcome | completed | source could not repair | peak held | evicted |\n"
            "|---|---|---|---:|---|---:|---:|"
        )
        for c in cases:
            print(
                f"| {c['class']} | {c['recovery']} | {'**deadlock**' if c['deadlocked'] else 'complete'} "
                f"| {c['completed']}/{c['receivers']} | {', '.join(map(str, c['repair_unavailable'])) or '-'} "
                f"| {c['peak_held']} | {c['evicted']} |"
            )
    else:
        table = Table(
            title=f"Theorem 2: buffer of {args.buffer} packets, packet 0 lost at receiver 1", title_justify="left"
        )
        for column in ("class", "way out", "outcome", "completed", "source could not repair", "peak held", "evicted"):
            table.add_column(column)
        for c in cases:
            outcome = "[red]DEADLOCK[/]" if c["deadlocked"] else "[green]complete[/]"
            table.add_row(
                c["class"],
                c["recovery"],
                outcome,
                f"{c['completed']}/{c['receivers']}",
                ", ".join(map(str, c["repair_unavailable"])) or "-",
                str(c["peak_held"]),
                str(c["evicted"]),
            )
        console.print(table)
    expected = all(c["deadlocked"] == (c["class"] in ("N1", "N2") and c["recovery"] == "none") for c in cases)
    return 0 if expected else 1


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
