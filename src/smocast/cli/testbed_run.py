"""``smocast testbed ...``: the actions (the parsers are in :mod:`smocast.cli.testbed_cmd`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.table import Table

from smocast.cli.common import (
    EXIT_USAGE,
    CommandError,
    console,
    print_json,
)
from smocast.core.units import format_rate
from smocast.testbed import Testbed, TestbedError, TestbedStatus, validate_prefix


def _checked(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A bad --prefix is a usage error (exit 2); a testbed failure is reported by ``main`` (exit 1)."""

    def run(args: argparse.Namespace) -> int:
        try:
            validate_prefix(args.prefix)
        except TestbedError as exc:
            raise CommandError(str(exc), EXIT_USAGE, "usage") from None
        return handler(args)

    return run


def _up(args: argparse.Namespace) -> int:
    tb = Testbed(args.prefix).up(args.hosts, rate=args.rate, loss=args.loss, ipv6=args.ipv6, reorder=args.reorder)
    last = args.hosts - 1
    console.print(
        f"testbed [bold]{tb.prefix}[/] is up: {args.hosts} hosts {tb.address(0)}-{tb.address(last)} "
        f"({tb.namespace(0)} .. {tb.namespace(last)}), bridge in {tb.layout.switch}",
        soft_wrap=True,
    )
    if args.ipv6:
        console.print(f"IPv6: {tb.address6(0)}-{tb.address6(last)} on eth0", soft_wrap=True)
    shaping = [
        f"rate {format_rate(args.rate)}" if args.rate else "",
        f"loss {args.loss:g}" if args.loss else "",
        f"reorder {args.reorder:g}" if args.reorder else "",
    ]
    if any(shaping):
        console.print("impairments: " + ", ".join(part for part in shaping if part), soft_wrap=True)
    console.print(f"next: smocast testbed exec h1 --prefix {tb.prefix} -- ip addr", soft_wrap=True)
    console.print(f"when done: smocast testbed down --prefix {tb.prefix}", soft_wrap=True)
    return 0


def _down(args: argparse.Namespace) -> int:
    removed = Testbed(args.prefix).down()
    console.print(
        f"removed {len(removed)} namespaces: {' '.join(removed)}"
        if removed
        else f"nothing to remove: no namespaces of testbed {args.prefix!r}",
        soft_wrap=True,
    )
    return 0


def _exec(args: argparse.Namespace) -> int:
    prefix, command = _split_exec(args.prefix, args.command)
    if not command:
        raise CommandError("give the command to run after --, e.g. smocast testbed exec h1 -- ip addr", EXIT_USAGE)
    return Testbed(prefix).exec(args.host, command).returncode


def _split_exec(prefix: str, rest: list[str]) -> tuple[str, list[str]]:
    """Separate ``[--prefix NAME] -- command...`` after the host (argparse hands over all of it)."""
    if not rest or not rest[0].startswith("-"):
        return prefix, rest
    cut = rest.index("--") if "--" in rest else len(rest)
    options, command = rest[:cut], rest[cut + 1 :]
    if len(options) == 2 and options[0] == "--prefix":
        prefix = options[1]
    elif len(options) == 1 and options[0].startswith("--prefix="):
        prefix = options[0].split("=", 1)[1]
    elif options:
        raise CommandError(f"unknown options before --: {' '.join(options)} (only --prefix NAME)", EXIT_USAGE)
    try:
        return validate_prefix(prefix), command
    except TestbedError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


def _status(args: argparse.Namespace) -> int:
    status = Testbed(args.prefix).status()
    if args.json:
        print_json(status.as_json())
    elif not status.up:
        stray = f" (left-over namespaces: {' '.join(status.strays)}; run down)" if status.strays else ""
        console.print(f"testbed {status.prefix!r} is down{stray}", soft_wrap=True)
    else:
        _print_status(status)
    return 0


up = _checked(_up)
down = _checked(_down)
exec_in_host = _checked(_exec)
status = _checked(_status)


def _print_status(status: TestbedStatus) -> None:
    table = Table(title=f"testbed {status.prefix} (bridge in {status.switch})", title_justify="left")
    for column in ("host", "namespace", "address", "rate out", "rate in", "loss", "dropped", "reorder", "cut"):
        table.add_column(column)
    for h in status.hosts:
        table.add_row(
            str(h.index),
            h.namespace,
            h.address,
            _rate(h.rate_bps),
            _rate(h.inbound_rate_bps),
            f"{h.loss:g}" if h.loss_per_mille else "-",
            str(h.dropped),
            f"{h.reorder:g} ({h.reordered} late)" if h.reorder_per_mille else "-",
            "CUT" if h.cut else "",
        )
    console.print(table)
    for group, hosts in status.groups.items():
        console.print(f"group {group}: joined by hosts {', '.join(map(str, hosts))}", soft_wrap=True)


def _rate(bps: float | None) -> str:
    return format_rate(bps) if bps is not None else "-"
