"""``smocast testbed ...``: real hosts in network namespaces on one Linux bridge (needs root)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from rich.table import Table

from smocast.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    CommandError,
    HelpFormatter,
    console,
    positive_int,
    print_json,
    probability,
    rate_arg,
    show_help,
)
from smocast.cli.errors import report
from smocast.core.units import format_rate
from smocast.testbed import DEFAULT_PREFIX, Testbed, TestbedError, TestbedStatus, validate_prefix

DESCRIPTION = """\
Real hosts on this machine: one network namespace per host, all joined by a Linux bridge
(in its own namespace) with IGMP snooping and querier, so IP multicast flows through the
real kernel. Host 0 (10.77.0.1) is the sender by convention; host i has 10.77.0.<i+1>.
Needs root and the ip, tc and nft commands. Nothing outside the namespaces is touched.

examples:
  smocast testbed up --hosts 5 --rate 100mbit --loss 0.02
  smocast testbed status
  smocast testbed exec h1 -- ip addr show eth0
  smocast testbed exec 0 -- python3 -c 'print("hello from the sender")'
  smocast testbed down
"""

UP_HELP = """\
Build a testbed of --hosts hosts. --rate shapes every host's outgoing traffic with tc tbf;
--loss drops that share of incoming UDP at every receiver (hosts 1..N-1, not the sender),
rounded to 1/1000. Fails without changing anything if the prefix is already up.

examples:
  smocast testbed up --hosts 3
  smocast testbed up --hosts 10 --rate 100mbit --loss 0.05 --prefix lab
"""

DOWN_HELP = """\
Delete every namespace of the prefix (<prefix>-sw, <prefix>-h0, ...) and with them all links,
shapers and rules, killing processes still running inside. Works after a crash; running it
when nothing is up is fine.

examples:
  smocast testbed down
  smocast testbed down --prefix lab
"""

EXEC_HELP = """\
Run a command inside one host's namespace and leave with its exit code. Name the host by
index (1), short name (h1) or namespace (smc-h1); put the command after --.

examples:
  smocast testbed exec h2 -- ip -br addr
  smocast testbed exec 1 --prefix lab -- python3 receiver.py 239.1.2.3
"""

STATUS_HELP = """\
Show the namespaces of the prefix with their addresses, rate limits, loss, cut-off state and
the multicast groups the bridge has seen joined.

examples:
  smocast testbed status
  smocast testbed status --prefix lab --json
"""


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "testbed",
        help="real hosts in network namespaces on one bridge (root)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    group = parser.add_subparsers(title="actions", metavar="<action>")
    _add_up(group)
    _add(group, "down", "remove a testbed, also after a crash", DOWN_HELP, _down)
    _add_exec(group)
    status = _add(group, "status", "show a testbed's hosts, shapers and groups", STATUS_HELP, _status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=show_help(parser))


def _add(
    group: Any, name: str, summary: str, description: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = group.add_parser(
        name, help=summary, description=description, formatter_class=HelpFormatter
    )
    p.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="names the testbed: namespaces are <prefix>-sw and <prefix>-h<i> (1-8 of a-z0-9)",
    )
    p.set_defaults(handler=_reporting(handler))
    return p


def _add_up(group: Any) -> None:
    p = _add(group, "up", "build a testbed of N hosts", UP_HELP, _up)
    p.add_argument("--hosts", type=positive_int, required=True, help="number of hosts, the sender included")
    p.add_argument("--rate", type=rate_arg, default=None, help="rate limit of each host's egress, e.g. 100mbit")
    p.add_argument("--loss", type=probability, default=0.0, help="share of UDP each receiver drops on input")


def _add_exec(group: Any) -> None:
    p = _add(group, "exec", "run a command in one host's namespace", EXEC_HELP, _exec)
    p.add_argument("host", metavar="NAME_OR_INDEX", help="the host: 1, h1 or smc-h1")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")


def _reporting(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Report errors as one unwrapped line: a bad prefix or usage exits 2, a testbed failure 1."""

    def run(args: argparse.Namespace) -> int:
        as_json = bool(getattr(args, "json", False))
        try:
            validate_prefix(args.prefix)
        except TestbedError as exc:
            return report(str(exc), "usage", EXIT_USAGE, as_json=as_json)
        try:
            return handler(args)
        except TestbedError as exc:
            return report(str(exc), "testbed", EXIT_FAILURE, as_json=as_json)
        except CommandError as exc:
            return report(str(exc), exc.kind, exc.code, as_json=as_json)

    return run


def _up(args: argparse.Namespace) -> int:
    tb = Testbed(args.prefix).up(args.hosts, rate=args.rate, loss=args.loss)
    last = args.hosts - 1
    console.print(
        f"testbed [bold]{tb.prefix}[/] is up: {args.hosts} hosts {tb.address(0)}-{tb.address(last)} "
        f"({tb.namespace(0)} .. {tb.namespace(last)}), bridge in {tb.layout.switch}",
        soft_wrap=True,
    )
    shaping = [f"rate {format_rate(args.rate)}" if args.rate else "", f"loss {args.loss:g}" if args.loss else ""]
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


def _print_status(status: TestbedStatus) -> None:
    table = Table(title=f"testbed {status.prefix} (bridge in {status.switch})", title_justify="left")
    for column in ("host", "namespace", "address", "rate out", "rate in", "loss", "dropped", "cut"):
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
            "CUT" if h.cut else "",
        )
    console.print(table)
    for group, hosts in status.groups.items():
        console.print(f"group {group}: joined by hosts {', '.join(map(str, hosts))}", soft_wrap=True)


def _rate(bps: float | None) -> str:
    return format_rate(bps) if bps is not None else "-"
