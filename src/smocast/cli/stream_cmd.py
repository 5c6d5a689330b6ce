"""``smocast stream``: the parser. The command runs in :mod:`smocast.cli.stream_run`."""

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
)
from smocast.cli.security_args import add_source_security

HEADER_SIZE = 16
"""Bytes of each message's header (message number, send time): ``smocast.apps.stream.HEADER_SIZE``,
written out so that the parser loads nothing of the runtime (a test keeps the two equal)."""

DESCRIPTION = f"""\
Stream messages to every receiver of a TCP-SMO channel at a fixed rate (a live stream).
Admission is continuous: receivers may join at any time and start at the current message.
Each message begins with a {HEADER_SIZE}-byte header (message number, send time) so that
receivers (smocast recv --realtime) can measure loss, latency and jitter; the latency
figures assume the sender's and receivers' clocks agree (true on one machine or testbed).

A receiver that cannot keep up (its window stays shut, or it falls out of the --policy
buffer) is reset with a reason, and may connect again. Ctrl-C ends the stream cleanly:
receivers get FIN and the report is printed.

examples:
  smocast stream --group 239.1.2.3:6000 --bind 127.0.0.1:6000 --rate 50 --size 1448 --duration 20s
  smocast stream --group 232.1.1.1:5000 --rate 100 --size 1000 --packets 5000 --min-receivers 4 --json
  some-encoder | smocast stream --group 232.1.1.1:5000 --source - --rate 200 --size 1316

receivers run: smocast recv --realtime --server <this host>:<port> --group <group>:<port>
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stream",
        help="stream messages live to many receivers (real-time)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("--group", type=group_arg, required=True, help="multicast group and port, e.g. 232.1.1.1:5000")
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument(
        "--source",
        default=None,
        metavar="FILE|-",
        help="stream this file (or stdin) as messages; default: synthetic constant-bitrate messages",
    )
    p.add_argument("--rate", type=float, required=True, metavar="PKTS_PER_S", help="messages per second")
    p.add_argument(
        "--size",
        type=positive_int,
        default=1448,
        metavar="BYTES",
        help=f"bytes per message, the {HEADER_SIZE}-byte header included",
    )
    end = p.add_mutually_exclusive_group()
    end.add_argument("--packets", type=positive_int, default=None, help="stop after this many messages")
    end.add_argument("--duration", type=duration_arg, default=None, help="stop after this long, e.g. 20s")
    p.add_argument(
        "--policy", default=None, help="window policy: buffer:<bytes> (default: two seconds of media) or quorum:<f>"
    )
    add_drop_rules(p, "3s", "reset a receiver whose window stays shut, or that acknowledges nothing, this long")
    p.add_argument(
        "--congestion",
        default="newreno",
        help="congestion control: newreno, lossfilter (ignores losses without RTT growth), or fixed (media rate only)",
    )
    p.add_argument("--min-receivers", type=int, default=0, help="wait for this many receivers before the first message")
    p.add_argument(
        "--wait",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="give up if --min-receivers did not join within this time, e.g. 30s (default: wait forever)",
    )
    p.add_argument(
        "--interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="multicast from", default="the bound address, or the route to the group"),
    )
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument(
        "--mss",
        type=positive_int,
        default=None,
        help="payload bytes per datagram (default 1400, and 1366 in the secure mode: a sealed datagram is as large)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_source_security(p)
    p.set_defaults(handler=deferred("smocast.cli.stream_run"))
