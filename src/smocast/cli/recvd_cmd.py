"""``smocast recvd``: the parser of the receiver daemon. The command runs in :mod:`smocast.cli.recvd_run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smocast.cli.common import INTERFACE_HELP, HelpFormatter, deferred, duration_arg, group_arg, positive_int
from smocast.cli.recv_cmd import add_write_options
from smocast.cli.security_args import add_receiver_security

DESCRIPTION = """\
A receiver that stays up: it listens for sources' announcements ('smocast send' announces
its channel), joins each transfer that passes the filters, receives and verifies it into
the output directory as 'smocast recv' does, and goes back to listening. Transfers are
received one after another or several at once; one that started before the daemon heard
of it is joined from its first byte (the source serves it again from its files), and one
that was interrupted is resumed at its next announcement. One line per transfer (with
--json one JSON object per line); docs/daemon.md has a systemd unit.

examples:
  smocast recvd -o /srv/incoming
  smocast recvd -o /srv/incoming --from 10.0.0.5 --name 'nightly-*' --log-level info
  smocast recvd -o downloads --announce-group [ff15::77:77]:5077 --interface eth0
  smocast recvd -o downloads --count 1 --json      (take one transfer, then exit)
  smocast recvd -o /srv/incoming --trust SHA256:26fq-3ar4-...   (the sources' keys; repeatable)

In the secure mode (the default) the daemon takes only announcements signed by a key pinned
for the announced server (--trust, or this user's known_sources), and that server must
prove the same key in the handshake; --insecure takes any announcement, unauthenticated.

sources run: smocast send FILE... --group <group>:<port> [--description TEXT]
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "recvd",
        help="a receiver daemon: take every announced transfer",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument("-o", "--output", type=Path, default=Path(), metavar="DIR", help="directory to write the files to")
    p.add_argument(
        "--announce-group",
        type=group_arg,
        default="239.255.77.77:5077",
        metavar="GROUP:PORT",
        help="where sources announce (IPv6 sources announce on [ff15::77:77]:5077)",
    )
    p.add_argument(
        "--interface",
        default=None,
        metavar="NAME|ADDR",
        help=INTERFACE_HELP.format(what="listen and join on", default="the one the routes pick"),
    )
    p.add_argument(
        "--from",
        dest="sources",
        action="append",
        default=[],
        metavar="ADDR[/LEN]",
        help="take transfers only from these sources (an address or a network); repeatable",
    )
    p.add_argument(
        "--name",
        dest="names",
        action="append",
        default=[],
        metavar="PATTERN",
        help="take only transfers whose name or description matches this shell pattern; repeatable",
    )
    p.add_argument(
        "--max-concurrent", type=positive_int, default=4, help="transfers received at the same time, at most"
    )
    p.add_argument("--count", type=positive_int, default=None, help="exit after this many transfers ended")
    p.add_argument("--timeout", type=duration_arg, default="10s", help="give up one connection attempt after this long")
    p.add_argument(
        "--idle-timeout",
        type=duration_arg,
        default="60s",
        help="give up a transfer when nothing arrives from its source for this long",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line, one line per transfer")
    add_write_options(p)
    add_receiver_security(p)
    p.set_defaults(handler=deferred("smocast.cli.recvd_run", receiver=True))
