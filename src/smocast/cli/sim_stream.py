"""``smocast sim stream``: a live stream to real-time receivers, against plain UDP."""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from smocast.cli.common import (
    console,
    fail,
    print_json,
)
from smocast.sim.stream import StreamSpec, run_stream
from smocast.sim.topology import PathSpec
from smocast.smo.policies import WindowPolicy


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
