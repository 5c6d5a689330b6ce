"""``smocast recv``: the parser (file, real-time and fail-over options). The command runs in
:mod:`smocast.cli.recv_run` (:mod:`~smocast.cli.recv_realtime` with ``--realtime``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smocast.cli.common import INTERFACE_HELP, HelpFormatter, address_arg, deferred, duration_arg, group_arg
from smocast.cli.security_args import add_receiver_security

DESCRIPTION = """\
Join the multicast group, connect to the source, receive the files it sends and check each
one's SHA-256 against the manifest. A file appears in the output directory under its path
only once verified; paths that would leave the directory are refused, existing files are
kept unless --overwrite or --backup, and the free space is checked first. A receiver
started before its source waits for it (--wait). An interrupted receive keeps its partial
file: run the same command again and it resumes where it stopped.

examples:
  smocast recv --server 192.0.2.10:5000 --group 232.1.1.1:5000 -o downloads
  smocast recv --server 127.0.0.1:6000 --group 239.1.2.3:6000 --interface lo --json
  smocast recv --server [2001:db8::10]:5000 --group [ff3e::1234]:5000 -o downloads
  smocast recv --server [fe80::1%eth0]:5000 --group [ff32::1234]:5000 --interface eth0
  smocast recv --server 10.0.0.2:5001 --group 232.1.2.1:5001 -o downloads \\
               --fallback 10.0.0.3:5002@232.1.2.2:5002,10.0.0.1:5000@232.1.1.1:5000
  smocast recv --realtime --server 127.0.0.1:6000 --group 239.1.2.3:6000 --playout-delay 300ms --json
  smocast recv --daemon -o downloads      (the same as smocast recvd -o downloads)

The source must prove the key this receiver pinned: --trust FINGERPRINT (what the source
prints, or 'smocast key fingerprint' on its host), or a line 'HOST[:PORT] FINGERPRINT' in the
known_sources file of this user; --trust-on-first-use accepts an unknown source's key and
remembers it. A source with another key is refused. --insecure turns the protection off.
With --fallback, every server must prove a pinned key (a relay proves its own: pin each).
  smocast recv --server 192.0.2.10:5000 --group 232.1.1.1:5000 --trust SHA256:26fq-3ar4-...
  smocast recv --server 192.0.2.10:5000 --group 232.1.1.1:5000 --trust-on-first-use --identify
  smocast recv --server [2001:db8::10]:5000 --group [ff3e::1234]:5000 --trust SHA256:26fq-3ar4-...

For a group in 232.0.0.0/8 or ff3x::/96 the join is source-specific (SSM) with the server's
address as the source; use --source when the source multicasts from another address.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recv",
        help="receive a file from a source over IP multicast",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--server",
        type=address_arg,
        default=None,
        help="the source's HOST:PORT or [IPV6]:PORT (required unless --daemon)",
    )
    p.add_argument(
        "--group",
        type=group_arg,
        default=None,
        help="multicast group and port, e.g. 232.1.1.1:5000 (required unless --daemon)",
    )
    p.add_argument("-o", "--output", type=Path, default=Path(), metavar="DIR", help="directory to write the files to")
    p.add_argument("--source", default=None, metavar="ADDR", help="the channel's source address for SSM")
    p.add_argument(
        "--interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="join on", default="the one that routes to the server"),
    )
    p.add_argument("--timeout", type=duration_arg, default="10s", help="give up one connection attempt after this long")
    p.add_argument(
        "--wait",
        type=duration_arg,
        default="30s",
        help="keep trying to connect for this long while the source is not up yet (0: fail at once)",
    )
    p.add_argument(
        "--idle-timeout",
        type=duration_arg,
        default=None,
        help="give up when nothing arrives from the source for this long (0: never; default: four of "
        "the heartbeats the source sends when it is idle, 4s at their usual 1s)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, no progress bar")
    add_write_options(p)
    p.add_argument(
        "--daemon",
        action="store_true",
        help="stay up and receive every announced transfer (smocast recvd; its filters are in 'smocast recvd --help')",
    )
    _add_realtime(p)
    _add_fallback(p)
    add_receiver_security(p)
    p.set_defaults(handler=deferred("smocast.cli.recv_run", receiver=True))


def add_write_options(p: Any) -> None:
    """``--overwrite``, ``--backup`` and ``--no-resume``: how files are written (recv and recvd)."""
    group = p.add_argument_group("writing files")
    group.add_argument("--overwrite", action="store_true", help="replace files that exist (default: refuse them)")
    group.add_argument("--backup", action="store_true", help="replace files that exist, keeping each old one as NAME~")
    group.add_argument(
        "--no-resume",
        action="store_true",
        help="start from the first byte even if an interrupted receive left a partial file (which is removed)",
    )


def _add_realtime(p: Any) -> None:
    group = p.add_argument_group("real-time (a live stream from 'smocast stream')")
    group.add_argument(
        "--realtime",
        action="store_true",
        help="receive a live stream of messages: skip what cannot be repaired in time, "
        "report perceived loss, latency and jitter",
    )
    group.add_argument(
        "--playout-delay",
        type=duration_arg,
        default="300ms",
        help="how long after its expected arrival a message may still be repaired before it is "
        "skipped (0: skip a hole as soon as later data waits)",
    )
    group.add_argument(
        "--duration",
        type=duration_arg,
        default=None,
        help="leave the stream after this long, e.g. 20s (default: until it ends, or Ctrl-C)",
    )
    group.add_argument(
        "--save",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the message bodies (headers removed) to FILE, in order",
    )


def _add_fallback(p: Any) -> None:
    group = p.add_argument_group("fail-over (servers that keep history: relays, or smocast send)")
    group.add_argument(
        "--fallback",
        action="append",
        default=[],
        metavar="HOST:PORT[@GROUP:PORT],...",
        help="servers to fail over to, in order, when the server dies or resets this receiver; each "
        "resumes at the last byte received (from a relay's history). The group defaults to "
        "--group. Repeatable",
    )
    group.add_argument(
        "--source-timeout",
        type=duration_arg,
        default="3s",
        help="with --fallback: give a server up after this much silence (sources heartbeat every second)",
    )
