"""``smocast relay``: the parser. The command runs in :mod:`smocast.cli.relay_run`."""

from __future__ import annotations

from typing import Any

from smocast.cli.common import (
    INTERFACE_HELP,
    HelpFormatter,
    add_drop_rules,
    address_arg,
    deferred,
    duration_arg,
    group_arg,
    positive_int,
    size_arg,
)
from smocast.cli.security_args import add_source_security

DEFAULT_HISTORY = "64M"
"""``smocast.aio.relay.DEFAULT_HISTORY`` as a user types it (a test keeps the two equal)."""
DEFAULT_SOURCE_TIMEOUT = "5s"
"""``smocast.aio.relay.DEFAULT_SOURCE_TIMEOUT`` as a user types it (a test keeps the two equal)."""

DESCRIPTION = f"""\
Run a relay server: a receiver of the channel at --upstream that is at the same time the
source of a channel of its own on --group. Every byte is forwarded as it arrives, without a
second copy; the relay acknowledges upstream only what its downstream window can hold, so
in reliable mode backpressure reaches the root. Its upstream may be the root (smocast send)
or another relay: hierarchies have any depth. A file is forwarded like any bytes, so
`smocast recv` behind a relay gets exactly what the root sent.

The relay keeps up to --history bytes of the stream (default {DEFAULT_HISTORY}: three times
the demo's 20 MiB file), so receivers whose relay died can resume here from their last byte
(`smocast recv --fallback`). It exits once the upstream stream ended and every downstream
receiver completed or was dropped. If it loses its upstream first, it resets its receivers
(so they fail over at once) and exits with 1.

Secure unless --insecure, hop by hop: the relay pins its upstream's key (--trust, or this
user's known sources) and proves its own key downstream, which its receivers pin. It opens
and re-seals every packet, and signs the blocks itself.

examples:
  smocast relay --upstream 192.0.2.10:5000 --upstream-group 232.1.1.1:5000 --group 232.1.2.1:5001
  smocast relay --upstream 127.0.0.1:6000 --upstream-group 239.1.2.3:6000 \\
                --group 239.1.2.4:6001 --bind 127.0.0.1:6001 --min-receivers 3 --json

receivers run: smocast recv --server <this host>:<port> --group <group>:<port>
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "relay",
        help="forward a channel to a channel of its own (relay server)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--upstream",
        type=address_arg,
        required=True,
        metavar="HOST:PORT",
        help="the upstream source's (or relay's) address",
    )
    p.add_argument(
        "--upstream-group",
        type=group_arg,
        required=True,
        metavar="GROUP:PORT",
        help="the upstream channel's multicast group and port",
    )
    p.add_argument(
        "--group",
        type=group_arg,
        required=True,
        metavar="GROUP:PORT",
        help="multicast group and port this relay sends to",
    )
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        metavar="ADDR:PORT",
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument(
        "--interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="multicast from", default="the bound address, or the route to the group"),
    )
    p.add_argument(
        "--upstream-interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="join the upstream on", default="the one that routes to the upstream"),
    )
    p.add_argument("--upstream-source", default=None, metavar="ADDR", help="the upstream's source address for SSM")
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument("--min-receivers", type=positive_int, default=1, help="receivers to wait for before sending")
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    add_drop_rules(p)
    p.add_argument(
        "--history",
        type=size_arg,
        default=DEFAULT_HISTORY,
        metavar="SIZE",
        help="stream bytes kept for receivers that fail over here, e.g. 64M or 1G",
    )
    p.add_argument(
        "--source-timeout",
        type=duration_arg,
        default=DEFAULT_SOURCE_TIMEOUT,
        help="give the upstream up after this much silence (it heartbeats every second)",
    )
    p.add_argument("--timeout", type=duration_arg, default="10s", help="give up connecting upstream after this long")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    add_source_security(p, relay=True)
    p.set_defaults(handler=deferred("smocast.cli.relay_run"))
