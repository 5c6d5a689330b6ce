"""``smocast send``: the parser. The command runs in :mod:`smocast.cli.send_run`."""

from __future__ import annotations

from pathlib import Path
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
    rate_arg,
)
from smocast.cli.security_args import add_source_security

DESCRIPTION = """\
Send files and directories (or standard input, '-') to every receiver of a TCP-SMO channel:
each byte goes once to the multicast group; ACKs and repairs travel by unicast. A manifest
(every file's path, size, mode, time and SHA-256) goes first, then the files back to back,
and each receiver verifies every file. The command announces the channel on the
announcement group (for 'smocast recvd'), waits for --min-receivers receivers, sends, and
returns once every receiver completed or was dropped. Receivers that restart resume from
the files on disk.

examples:
  smocast send image.iso --group 232.1.1.1:5000 --min-receivers 3
  smocast send photos/ notes.txt --group 232.1.1.1:5000 --description "holiday photos"
  tar c logs/ | smocast send - --name logs.tar --group 239.1.2.3:6000 --bind 127.0.0.1:6000
  smocast send image.iso --group 232.1.1.1:5000 --rate 50mbit
  smocast send image.iso --group [ff3e::1234]:5000 --bind [2001:db8::10]:5000
  smocast send video.ts --group 232.1.1.1:5000 --policy quorum:0.9 --cwnd-policy fair:1,4
  smocast send image.iso --group 232.1.1.1:5000 --congestion lossfilter   # a lossy wireless or LAN segment
  smocast send image.iso --group 232.1.1.1:5000 --max-mtu 9000   # probe for jumbo frames, at most 9000
  smocast send image.iso --group 232.1.1.1:5000 --no-pmtu --mss 1200   # no probing: every segment 1200 bytes
  smocast send image.iso --group 232.1.1.1:5000 --min-receivers 500 --watch --watch-sort srtt
  smocast send image.iso --group 232.1.1.1:5000 --stats-file /run/smocast.json --log-level info

receivers run: smocast recv --server <this host>:<port> --group <group>:<port> -o DIR --trust <this source's key>
           or: smocast recvd -o DIR --trust <this source's key>   (takes every announced transfer; see docs/daemon.md)
The transfer is authenticated and encrypted unless --insecure: the source proves this user's key
(made by 'smocast keygen', or on first use) and prints its fingerprint for the receivers to pin;
its announcements are signed with it.
  smocast send image.iso --group 232.1.1.1:5000 --allow receivers.txt   (listed receivers only)
  smocast send image.iso --group 232.1.1.1:5000 --insecure              (no protection, for comparisons)
Receivers on this same host need the source bound to one address (not 0.0.0.0) on the group port.
"""

WATCH_COLUMNS = ("acked", "goodput", "srtt", "cwnd", "repairs", "address", "receiver")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "send",
        help="send a file to many receivers over IP multicast",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE|DIR|-",
        help="files and directories to send (directories whole, without the links inside them), "
        "or - for standard input alone",
    )
    p.add_argument(
        "--group", type=group_arg, required=True, help="multicast group and port, e.g. 232.1.1.1:5000 or [ff3e::1]:5000"
    )
    p.add_argument(
        "--name",
        default=None,
        help="what the transfer is called (the file name of standard input; default: the "
        "first file or directory, or 'stdin')",
    )
    p.add_argument(
        "--rate",
        type=rate_arg,
        default=None,
        help="never send faster than this, e.g. 50mbit: new data is paced under it and repairs count against it "
        "(a ceiling under congestion control, for shared links)",
    )
    p.add_argument(
        "--bind",
        type=address_arg,
        default=None,
        help="local address and port receivers connect to (default 0.0.0.0:<group port>)",
    )
    p.add_argument(
        "--interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="multicast from", default="the bound address, or the route to the group"),
    )
    p.add_argument("--ttl", type=positive_int, default=1, help="multicast TTL (hops)")
    p.add_argument("--min-receivers", type=positive_int, default=1, help="receivers to wait for before sending")
    p.add_argument(
        "--wait",
        type=duration_arg,
        default=None,
        metavar="DURATION",
        help="give up if not enough receivers joined within this time, e.g. 30s (default: wait forever)",
    )
    p.add_argument("--policy", default="slowest", help="window advance F: slowest, quorum:<f>, buffer:<bytes>")
    p.add_argument("--cwnd-policy", default="min", help="congestion window G: min or fair:<alpha>,<beta>")
    p.add_argument("--rtt-policy", default="max", help="channel RTT: max or percentile:<q>")
    p.add_argument(
        "--congestion",
        default="newreno",
        help="congestion control of each receiver: newreno (halves at every loss; the channel follows the "
        "smallest window, strictly TCP-fair), lossfilter (halves only for losses that come with a queue, "
        "delay growth beyond the path's own jitter: a lossy but uncongested LAN keeps its rate; see "
        "docs/transfers.md), or fixed (a constant window)",
    )
    add_drop_rules(p)
    p.add_argument(
        "--mss",
        type=positive_int,
        default=None,
        help="payload bytes per datagram (default 1400, and 1366 in the secure mode: a sealed datagram is as large); "
        "with path MTU discovery on, where segments start",
    )
    p.add_argument(
        "--pmtu",
        choices=("on", "off"),
        default="on",
        help="path MTU discovery (RFC 8899; on by default): probe each receiver's path for larger datagrams, up "
        "to the interface's MTU, and send segments as large as every receiver confirmed (a jumbo-frame LAN "
        "carries 6 times fewer datagrams); off keeps --mss for every segment",
    )
    p.add_argument("--no-pmtu", dest="pmtu", action="store_const", const="off", help="the same as --pmtu off")
    p.add_argument(
        "--max-mtu",
        type=positive_int,
        default=None,
        metavar="BYTES",
        help="the largest IP MTU path MTU discovery probes for (default: the MTU of the interface it sends from)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    _add_announce(p)
    view = p.add_argument_group("live view and monitoring")
    view.add_argument(
        "--watch",
        action="store_true",
        help="show a live table of the receivers (address, state, bytes acked, goodput, SRTT, cwnd, "
        "repairs, reason) instead of the progress bar, with totals",
    )
    view.add_argument(
        "--watch-top", type=positive_int, default=20, metavar="N", help="receivers shown in the live table"
    )
    view.add_argument(
        "--watch-sort",
        choices=WATCH_COLUMNS,
        default="acked",
        help="which receivers the live table shows first: the least acked, goodput and cwnd, the "
        "largest SRTT and repairs, or by address or id",
    )
    view.add_argument(
        "--stats-file",
        type=Path,
        default=None,
        metavar="FILE",
        help="write every receiver's accounting to FILE as JSON every second (replaced atomically)",
    )
    add_source_security(p)
    p.set_defaults(handler=deferred("smocast.cli.send_run"))


def _add_announce(p: Any) -> None:
    group = p.add_argument_group("announcements (for receiver daemons, smocast recvd)")
    group.add_argument(
        "--description", default="", help="a line of text for receivers: shown by recvd, matched by its --name filter"
    )
    group.add_argument(
        "--announce-group",
        type=group_arg,
        default=None,
        metavar="GROUP:PORT",
        help="where to announce the channel (default 239.255.77.77:5077, or [ff15::77:77]:5077 for IPv6 groups)",
    )
    group.add_argument(
        "--announce-interval",
        type=duration_arg,
        default="1s",
        help="announce this often while waiting for receivers (three times slower while sending)",
    )
    group.add_argument("--no-announce", action="store_true", help="do not announce the channel")
