"""``smocast key ...``: look at keys (parsers; the runs are in :mod:`smocast.cli.key_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smocast.cli.common import HelpFormatter, deferred, show_help

DESCRIPTION = """\
Keys and fingerprints. A fingerprint names an Ed25519 public key: the SHA-256 of the raw key
in base32, in groups of four, after SHA256:. Receivers pin a source by its fingerprint; a
source admits receivers by theirs (an allow-list file, one fingerprint a line).

examples:
  smocast key fingerprint                    this user's key
  smocast key fingerprint --file relay.pub   the key in a public-key file
  smocast key <command> --help               the options of one command
"""

FINGERPRINT_DESCRIPTION = """\
Print the fingerprint of a key: this user's own (the default key file), or the one in
--file, which may be a private key (identity.key, checked as every command checks it: mode
0600, owned by you) or a public-key file (identity.pub). Send it to the people who must pin
it over a channel you trust (in person, a signed mail): an attacker who can change it in
transit can pose as the source.

The default file is identity.key in $XDG_CONFIG_HOME/smocast/ (~/.config/smocast/ when that
variable is unset).

examples:
  smocast key fingerprint
  smocast key fingerprint --file ~/.config/smocast/identity.pub --json
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "key",
        help="print key fingerprints",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    group = parser.add_subparsers(title="commands", metavar="<command>")
    p = group.add_parser(
        "fingerprint",
        help="print the fingerprint of this user's key, or of a key file",
        description=FINGERPRINT_DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--file", type=Path, default=None, metavar="PATH", help="a private or public key file (default: see above)"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object: the file and the fingerprint")
    p.set_defaults(handler=deferred("smocast.cli.key_run", "fingerprint"))
    parser.set_defaults(handler=show_help(parser))
