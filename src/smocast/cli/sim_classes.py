"""``smocast sim classes`` and ``smocast sim theorem2``: the six protocol classes in the
simulator, measured against the analytic model, and Levine's Theorem 2 as a scenario."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.classes.build import CLASS_NAMES
from smocast.classes.config import ClassConfig
from smocast.cli.common import (
    HelpFormatter,
    console,
    duration_arg,
    fail,
    float_list,
    int_list,
    positive_int,
    print_json,
    probability,
)
from smocast.model import ModelOptions
from smocast.sim.classes import ClassRunSpec, run_points
from smocast.sim.classes_theorem2 import Theorem2Spec, run_theorem2

DESCRIPTION = """\
Run the protocol classes A, N1, N2, H1, H2 and R in the simulator, one run per class,
group size and loss rate. Every endpoint counts the operations of the analytic model; a run
reports each role's mean cost per packet at the model's unit costs, the implied maximum
throughput 1 / (largest role cost), and the model's own figures for the same point. Every
receiver's data is checked byte for byte.

By default the run follows the model's assumptions: data lost independently with
probability p at each receiver, control packets never lost. --control-loss and
--correlation relax them.

examples:
  smocast sim classes --receivers 10,100 --loss 0.1
  smocast sim classes --classes A,N1,N2,H1,H2,R --receivers 10,100,1000 --loss 0.01,0.1,0.25 --jobs 2 --json
  smocast sim classes --classes N2,H2 --receivers 100 --loss 0.1 --fixed-c2      # SRM's fixed timers
  smocast sim classes --receivers 100 --loss 0.1 --control-loss 0.1 --correlation 0.5 --plot relaxed.png
"""

THEOREM2_DESCRIPTION = """\
Levine's Theorem 2: a receiver-initiated protocol with a finite buffer and no
application-level recovery deadlocks. The first transmission of packet 0 is lost at
receiver 1, nothing else is lost, and receivers are far enough away that the source has
sent more than its buffer holds before a NAK can come back. N1 and N2 must drop packet 0 and
receiver 1 waits forever; A, H1, H2 and R hold it until they know everyone has it. N1 and N2
are run again with application-level recovery and with an unbounded buffer. Exit status 0
means: exactly the receiver-initiated classes without a way out deadlocked.

examples:
  smocast sim theorem2
  smocast sim theorem2 --buffer 4 --delay 50ms --json
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "classes",
        help="the protocol classes measured against the analytic model",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--classes", type=_class_list, default=list(CLASS_NAMES), metavar="A,N1,...", help="classes to run")
    p.add_argument("--receivers", type=int_list, default=[10, 100], metavar="R[,R...]", help="group sizes")
    p.add_argument(
        "--loss",
        type=float_list,
        default=[0.1],
        metavar="P[,P...]",
        help="data loss probability per receiver and transmission",
    )
    p.add_argument("--packets", type=positive_int, default=1000, help="application packets per run")
    p.add_argument(
        "--control-loss",
        type=probability,
        default=0.0,
        help="loss probability of every control packet at every destination (model: 0)",
    )
    p.add_argument(
        "--correlation",
        type=float,
        default=0.0,
        help="share of the data loss on shared links in front of each group of B receivers (model: 0)",
    )
    p.add_argument("--branching", type=positive_int, default=10, help="B, children per parent in H1 and H2")
    p.add_argument(
        "--buffer",
        type=positive_int,
        default=1024,
        help="packets the source of A, H1, H2 and R may hold (N1 and N2: unbounded)",
    )
    p.add_argument("--delay", type=duration_arg, default="5ms", help="one-way delay of each receiver")
    p.add_argument(
        "--delay-spread",
        type=duration_arg,
        default="0ms",
        help="spread receivers' delays evenly from --delay to --delay plus this",
    )
    p.add_argument("--c1", type=float, default=2.0, help="SRM request timer: deterministic part, in distances")
    p.add_argument("--c2", type=float, default=2.0, help="SRM request timer: random part, in distances")
    p.add_argument("--fixed-c2", action="store_true", help="do not scale c2 by the square root of the group size")
    p.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    p.add_argument("--jobs", type=positive_int, default=1, help="simulations to run in parallel processes")
    p.add_argument(
        "--charge-heard-naks",
        action="store_true",
        help="charge each NAK heard from another receiver (N2, H2) at Y_n, in the model and the "
        "measurement (model default: Y_nr = 0)",
    )
    p.add_argument("--json", action="store_true", help='print {"points": [...]} instead of a table')
    p.add_argument("--markdown", action="store_true", help="print Markdown tables (as in docs/classes.md)")
    p.add_argument("--plot", metavar="FILE.png", help="plot measured and modelled throughput")
    p.add_argument(
        "--plot-naks",
        metavar="FILE.png",
        help="plot the NAKs per packet reaching the source of N1, N2, H2 against ideal suppression",
    )
    p.set_defaults(handler=run)

    t = subparsers.add_parser(
        "theorem2",
        help="Levine's Theorem 2: receiver-initiated classes deadlock",
        description=THEOREM2_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    t.add_argument("--receivers", type=positive_int, default=6)
    t.add_argument("--packets", type=positive_int, default=100)
    t.add_argument("--buffer", type=positive_int, default=8, help="packets the source may hold")
    t.add_argument("--delay", type=duration_arg, default="20ms", help="one-way delay of each receiver")
    t.add_argument("--branching", type=positive_int, default=2, help="B for H1 and H2 (2: a tree with leaders)")
    t.add_argument("--time-limit", type=float, default=30.0, help="simulated seconds before declaring deadlock")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--json", action="store_true", help='print {"cases": [...]}')
    t.add_argument("--markdown", action="store_true", help="print a Markdown table")
    t.set_defaults(handler=run_theorem2_cmd)


def _class_list(text: str) -> list[str]:
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in CLASS_NAMES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose classes from {','.join(CLASS_NAMES)}, got {text!r}")
    return names


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
