"""``smocast testbed ...``: real hosts in network namespaces on one Linux bridge (needs root).

The parsers; each action runs in :mod:`smocast.cli.testbed_run`.
"""

from __future__ import annotations

import argparse
from typing import Any

from smocast.cli.common import HelpFormatter, deferred, positive_int, probability, rate_arg, show_help

DEFAULT_PREFIX = "smc"
"""``smocast.testbed.DEFAULT_PREFIX`` (a test keeps the two equal): the parser loads nothing of the testbed."""

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
rounded to 1/1000. --reorder sends that share of the UDP towards every receiver by a slower
lane (twice the share of --rate, so half busy), so the datagrams after it arrive first, as
over two parallel links of different speed; it needs --rate. Fails without changing anything
if the prefix is already up.

examples:
  smocast testbed up --hosts 3
  smocast testbed up --hosts 10 --rate 100mbit --loss 0.05 --prefix lab
  smocast testbed up --hosts 5 --rate 100mbit --reorder 0.05     # 5% of datagrams late by 1-10 ms
  smocast testbed up --hosts 3 --ipv6
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
    _add(group, "down", "remove a testbed, also after a crash", DOWN_HELP, "down")
    _add_exec(group)
    status = _add(group, "status", "show a testbed's hosts, shapers and groups", STATUS_HELP, "status")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=show_help(parser))


def _add(group: Any, name: str, summary: str, description: str, handler: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = group.add_parser(
        name, help=summary, description=description, formatter_class=HelpFormatter
    )
    p.add_argument(
        "--prefix",
        default=DEFAULT_PREFIX,
        help="names the testbed: namespaces are <prefix>-sw and <prefix>-h<i> (1-8 of a-z0-9)",
    )
    p.set_defaults(handler=deferred("smocast.cli.testbed_run", handler))
    return p


def _add_up(group: Any) -> None:
    p = _add(group, "up", "build a testbed of N hosts", UP_HELP, "up")
    p.add_argument("--hosts", type=positive_int, required=True, help="number of hosts, the sender included")
    p.add_argument("--rate", type=rate_arg, default=None, help="rate limit of each host's egress, e.g. 100mbit")
    p.add_argument("--loss", type=probability, default=0.0, help="share of UDP each receiver drops on input")
    p.add_argument(
        "--reorder",
        type=probability,
        default=0.0,
        help="share of UDP towards each receiver sent by a slower lane, so that later datagrams overtake it",
    )
    p.add_argument(
        "--ipv6",
        action="store_true",
        help="give every host an IPv6 address too (fd77::<n+1>) and the bridge MLDv2 snooping",
    )


def _add_exec(group: Any) -> None:
    p = _add(group, "exec", "run a command in one host's namespace", EXEC_HELP, "exec_in_host")
    p.add_argument("host", metavar="NAME_OR_INDEX", help="the host: 1, h1 or smc-h1")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
