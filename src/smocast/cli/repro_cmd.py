"""``smocast repro``: every figure, table and claim of the two papers, the paper's value beside ours."""

from __future__ import annotations

from typing import Any

from smocast.cli.common import HelpFormatter, deferred, positive_int

DESCRIPTION = """\
Reproduce the results of Liang and Cheriton's TCP-SMO paper and of Levine and Garcia-Luna-
Aceves's comparison of reliable multicast classes. For every point it prints the paper's
value (or the bound its text gives), ours, and the ratio or pass/fail. The default sizes
finish in minutes; --full runs the paper's sizes (hours for the largest TCP-SMO runs).
Exits 0 when every judged row passes, 1 when one fails.

examples:
  smocast repro --list                        name every result
  smocast repro smo-fig5                      Figure 5 of the TCP-SMO paper, at the default size
  smocast repro levine-table1 --json          Table 1 of Levine's paper, as JSON
  smocast repro all --jobs 2 --plot figures   everything, on two cores, with the figures
  smocast repro smo-fig7 --full               Figure 7 at the paper's size
  smocast repro all --jobs 2 --markdown --plot docs/img/repro > docs/reproduction.md
  smocast repro all --full --jobs 2 --json > full.json      then add --with-full full.json to the page
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "repro",
        help="reproduce the papers' figures and tables, the paper's value beside ours",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("name", nargs="?", help="a result from --list, or all")
    p.add_argument("--list", action="store_true", help="name every result and what the paper reports")
    p.add_argument("--full", action="store_true", help="run at the paper's size instead of the default")
    p.add_argument("--jobs", type=positive_int, default=1, help="processes for the simulations")
    p.add_argument("--json", action="store_true", help="print one JSON object with every row and measurement")
    p.add_argument("--markdown", action="store_true", help="print the reproduction page (docs/reproduction.md)")
    p.add_argument("--plot", metavar="DIR", help="write each figure, in the paper's axes, as DIR/NAME.png")
    p.add_argument(
        "--with-full",
        metavar="FILE.json",
        help="with --markdown: add the outcomes of an earlier --full --json run saved in FILE",
    )
    p.set_defaults(handler=deferred("smocast.cli.repro_run"))
