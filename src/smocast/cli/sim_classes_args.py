"""The parsers of ``smocast sim classes`` and ``sim theorem2``; the runs are in :mod:`smocast.cli.sim_classes`."""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import (
    HelpFormatter,
    deferred,
    duration_arg,
    float_list,
    int_list,
    positive_int,
    probability,
)

ALL_CLASSES = "A,N1,N2,H1,H2,R"
"""``smocast.classes.build.CLASS_NAMES`` as a user types them (a test keeps the two equal)."""

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


def register_classes(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "classes",
        help="the protocol classes measured against the analytic model",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--classes", type=class_list, default=ALL_CLASSES, metavar="A,N1,...", help="classes to run")
    p.add_argument("--receivers", type=int_list, default="10,100", metavar="R[,R...]", help="group sizes")
    p.add_argument(
        "--loss",
        type=float_list,
        default="0.1",
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
    p.set_defaults(handler=deferred("smocast.cli.sim_classes"))


def register_theorem2(subparsers: Any) -> None:
    t = subparsers.add_parser(
        "theorem2",
        help="Levine's Theorem 2: receiver-initiated classes deadlock",
        description=THEOREM2_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    t.add_argument("--receivers", type=positive_int, default=6, help="number of receivers")
    t.add_argument("--packets", type=positive_int, default=100, help="application packets the source sends")
    t.add_argument("--buffer", type=positive_int, default=8, help="packets the source may hold")
    t.add_argument("--delay", type=duration_arg, default="20ms", help="one-way delay of each receiver")
    t.add_argument("--branching", type=positive_int, default=2, help="B for H1 and H2 (2: a tree with leaders)")
    t.add_argument("--time-limit", type=duration_arg, default="30s", help="simulated time before declaring deadlock")
    t.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same result")
    t.add_argument("--json", action="store_true", help='print {"cases": [...]}')
    t.add_argument("--markdown", action="store_true", help="print a Markdown table")
    t.set_defaults(handler=deferred("smocast.cli.sim_classes", "run_theorem2_cmd"))


def class_list(text: str) -> list[str]:
    """``a,N1`` -> ["A", "N1"]; each must be one of ``ALL_CLASSES``."""
    known = ALL_CLASSES.split(",")
    names = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"choose classes from {ALL_CLASSES}, got {text!r}")
    return names
