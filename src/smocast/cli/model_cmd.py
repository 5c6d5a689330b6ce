"""``smocast model ...``: the analytic maximum-throughput model of the reliable multicast classes (parsers;
the runs are in :mod:`smocast.cli.model_run`)."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import HelpFormatter, deferred, int_list, positive_int, show_help
from smocast.model import CLASS_DESCRIPTIONS, CLASSES, COST_NAMES, ModelOptions

_CLASS_LINES = "\n".join(f"  {name:<3} {text}" for name, text in CLASS_DESCRIPTIONS.items())

DESCRIPTION = f"""\
The analytic model of Pingali/Towsley/Kurose and Levine/Garcia-Luna-Aceves: the expected
processing cost per packet of every host role (sender, receiver, tree group leader, ring token
site) of each reliable multicast class, and the maximum throughput 1 / (largest role cost).
Losses are independent per receiver and transmission with probability p; control packets are
never lost. Costs are in units of one packet-processing time. See docs/model.md.

classes:
{_CLASS_LINES}

examples:
  smocast model throughput                                   # Figure 6 as a table
  smocast model throughput --classes N2,H2 --p 0.01 --receivers 100 --json
  smocast model supportable --plot figure7.png               # Figure 7
  smocast model <model> --help                               the options of one model
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
    tput.set_defaults(handler=deferred("smocast.cli.model_run", "run_throughput"))
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
    supp.set_defaults(handler=deferred("smocast.cli.model_run", "run_supportable"))
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
