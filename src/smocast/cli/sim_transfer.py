"""``smocast sim transfer``: a simulated TCP-SMO file transfer to N receivers."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from smocast.cli.common import EXIT_USAGE, console, fail, print_json
from smocast.core.congestion import controller_factory
from smocast.core.units import format_rate, format_size
from smocast.sim.topology import PathSpec
from smocast.sim.transfer import TransferSpec, run_transfer
from smocast.smo.policies import CwndPolicy, WindowPolicy


def run(args: argparse.Namespace) -> int:
    WindowPolicy.parse(args.policy)
    CwndPolicy.parse(args.cwnd_policy)
    controller_factory(args.congestion)
    if args.lossy_receivers is not None and args.lossy_receivers > args.receivers:
        fail(f"--lossy-receivers {args.lossy_receivers} exceeds --receivers {args.receivers}", 2)
    spec = TransferSpec(
        receivers=args.receivers,
        size=args.size,
        path=PathSpec(
            rate=args.rate,
            delay=args.delay,
            delay_max=args.delay_max,
            jitter=args.jitter,
            lane=args.lane[0],
            lane_delay=args.lane[1],
            loss=args.loss,
            ack_loss=args.ack_loss,
            burst=args.burst,
            shared_loss=args.shared_loss,
            subtree_size=args.subtree_size,
            lossy_receivers=args.lossy_receivers,
        ),
        policy=args.policy,
        cwnd_policy=args.cwnd_policy,
        ack_every=args.ack_every,
        source_cpu_per_packet=args.source_cpu_per_packet,
        source_cpu_queue=args.source_queue,
        source_rate=args.send_rate / 8 if args.send_rate else None,
        seed=args.seed,
        mss=args.mss,
        time_limit=args.time_limit,
        progress_timeout=args.progress_timeout,
        min_rate_fraction=args.min_rate_fraction,
        congestion=args.congestion,
        max_window=args.window,
        secure=args.secure,
        crypto=_crypto_costs(args),
    )
    with (
        console.status(f"simulating a transfer to {args.receivers} receivers...", spinner="dots")
        if not args.json
        else _Null()
    ):
        result = run_transfer(spec)
    report = result.as_json()
    if args.json:
        print_json(report)
    else:
        _summary(report)
    complete = report["completed"] == report["receivers"] and not report["dropped"]
    return 0 if complete and report["all_identical"] else 1  # a dropped receiver is a failure


def _crypto_costs(args: argparse.Namespace) -> Any:
    """The secure mode's cost model: none without --secure or with --no-crypto-cost."""
    if (args.crypto_costs is not None or args.no_crypto_cost) and not args.secure:
        fail("--crypto-costs and --no-crypto-cost go with --secure", EXIT_USAGE)
    if not args.secure or args.no_crypto_cost:
        return None
    from smocast.sim.crypto_cost import CryptoCosts  # noqa: PLC0415

    if args.crypto_costs is None:
        return CryptoCosts()
    try:
        return CryptoCosts.from_bench(json.loads(args.crypto_costs.read_text()))
    except OSError as exc:
        fail(f"cannot read {args.crypto_costs}: {exc.strerror}", kind="file")
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"{args.crypto_costs} is not a 'smocast bench crypto --json' report ({exc!r})", EXIT_USAGE)


def _summary(r: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    seg = r["segments"]
    table.add_row("receivers", f"{r['completed']} of {r['receivers']} completed, {r['dropped']} dropped")
    table.add_row("integrity", "[green]all SHA-256 identical[/]" if r["all_identical"] else "[red]MISMATCH[/]")
    table.add_row("file", format_size(r["bytes"]))
    table.add_row("time", f"{r['sim_time_s']:.3f} s simulated ({r['wall_time_s']:.2f} s wall)")
    table.add_row("goodput", format_rate(r["goodput_bps"]))
    table.add_row(
        "segments",
        f"{seg['original']} original, {seg['repair_unicast']} unicast repairs, "
        f"{seg['repair_multicast']} multicast repairs",
    )
    table.add_row("ACKs processed", str(r["acks_processed"]))
    if r["secure"]:
        source, receivers = r["protection"]["source"], r["protection"]["receivers"]
        costs = "with its CPU cost" if r["crypto_costs"] else "costing no CPU time"
        table.add_row(
            "secure",
            f"{source['blocks_signed']} blocks signed, {receivers['dropped']} datagrams dropped by receivers ({costs})",
        )
    console.print(table)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
