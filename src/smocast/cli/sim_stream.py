"""``smocast sim stream``: a live stream to real-time receivers, against plain UDP."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.cli.common import (
    HelpFormatter,
    console,
    duration_arg,
    fail,
    float_list,
    positive_int,
    print_json,
    rate_arg,
)
from smocast.sim.stream import StreamSpec, run_stream
from smocast.sim.topology import PathSpec
from smocast.smo.policies import WindowPolicy

DESCRIPTION = """\
Simulate a live stream: the source sends one message every 1/RATE seconds to N receivers
in real-time mode (TCP-RTM), each with a playout delay of --playout-rtts round trips of
its own path plus --playout-delay. A message is either played on time or skipped. The
same run counts what plain UDP multicast would have delivered.

examples:
  smocast sim stream --receivers 100 --packets 5000 --rate 50 --loss 0.08
  smocast sim stream --loss 0.02,0.04,0.06,0.08,0.10 --json --plot figure7.png   # the paper's Figure 7
  smocast sim stream --delay 20ms --delay-max 100ms --playout-delay 300ms --playout-rtts 0
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stream",
        help="a simulated live stream with real-time receivers",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--receivers", type=positive_int, default=100)
    p.add_argument("--packets", type=positive_int, default=5000, help="messages in the stream")
    p.add_argument("--rate", type=float, default=50.0, help="messages per second")
    p.add_argument("--size", type=positive_int, default=1448, help="bytes per message on the wire")
    p.add_argument("--delay", type=duration_arg, default="20ms", help="one-way delay of the nearest receiver")
    p.add_argument("--delay-max", type=duration_arg, default="100ms", help="one-way delay of the farthest")
    p.add_argument(
        "--loss",
        type=float_list,
        default=[0.02],
        metavar="P[,P...]",
        help="independent drop rate on data, per receiver; a list runs one stream per value",
    )
    p.add_argument("--link-rate", type=rate_arg, default="100mbit", help="link rate")
    p.add_argument("--playout-delay", type=duration_arg, default="100ms", help="constant part of the playout delay")
    p.add_argument("--playout-rtts", type=float, default=3.0, help="round trips added to each receiver's delay")
    p.add_argument("--policy", default=None, help="window policy (default: buffer of two seconds of media)")
    p.add_argument("--congestion", default="fixed", help="congestion control: fixed (media rate) or newreno")
    p.add_argument("--late-joiners", type=int, default=0, help="receivers that join five seconds in")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE.png", help="plot perceived loss against drop rate, with UDP")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.policy is not None:
        WindowPolicy.parse(args.policy)
    if any(not 0 <= p < 1 for p in args.loss):
        fail("--loss values must be in [0, 1)", 2)
    reports = []
    for loss in args.loss:
        spec = StreamSpec(
            receivers=args.receivers,
            packets=args.packets,
            rate=args.rate,
            size=args.size,
            path=PathSpec(rate=args.link_rate, delay=args.delay, delay_max=args.delay_max, loss=loss),
            playout_delay=args.playout_delay,
            playout_rtts=args.playout_rtts,
            policy=args.policy,
            congestion=args.congestion,
            late_joiners=args.late_joiners,
            seed=args.seed,
        )
        with console.status(f"streaming {args.packets} messages at {loss:.0%} drop...") if not args.json else _Quiet():
            reports.append(run_stream(spec).as_json())
    if args.plot:
        plot_figure7(reports, args.plot)
    if args.json:
        print_json(reports[0] if len(reports) == 1 else {"points": reports})
    else:
        _table(reports)
    return 0


def _table(reports: list[dict[str, Any]]) -> None:
    table = Table(title="perceived loss (TCP-SMO with TCP-RTM vs plain UDP)")
    for column in (
        "drop",
        "network loss",
        "TCP-RTM perceived",
        "UDP perceived",
        "latency p50/p99 ms",
        "jitter ms",
        "skipped bytes",
    ):
        table.add_column(column, justify="right")
    for r in reports:
        lat = r["latency_ms"]
        table.add_row(
            f"{r['loss']:.1%}",
            f"{r['network_loss']:.2%}",
            f"{r['perceived_loss']:.3%}",
            f"{r['udp_perceived_loss']:.2%}",
            f"{lat['p50']:.0f} / {lat['p99']:.0f}",
            f"{r['jitter_ms']:.1f}",
            str(r["skipped_bytes"]),
        )
    console.print(table)


def plot_figure7(reports: list[dict[str, Any]], path: str) -> None:
    """Perceived loss against drop rate, for TCP-RTM and UDP (the paper's Figure 7)."""
    import matplotlib  # noqa: PLC0415  (plotting is optional and slow to import)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    drops = [r["loss"] * 100 for r in reports]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(drops, [r["udp_perceived_loss"] * 100 for r in reports], "s--", label="UDP multicast")
    ax.plot(drops, [r["perceived_loss"] * 100 for r in reports], "o-", label="TCP-SMO + TCP-RTM")
    ax.set_xlabel("network drop rate (%)")
    ax.set_ylabel("perceived loss (%)")
    first = reports[0]
    ax.set_title(f"{first['receivers']} receivers, {first['packets']} packets at {first['rate_pps']:g}/s")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except OSError as exc:
        fail(f"cannot write the plot {path}: {exc.strerror}")
    finally:
        plt.close(fig)


class _Quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
