"""``smocast keygen``: make this user's Ed25519 key pair (parser; the run is in :mod:`smocast.cli.key_run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smocast.cli.common import HelpFormatter, deferred

DESCRIPTION = """\
Make an Ed25519 key pair: the identity a source proves to its receivers, and a receiver to a
source that only admits the receivers on its allow-list. The private key is written with mode
0600 (smocast refuses a key file others can read); the public key goes beside it (.pub). Give
receivers the fingerprint this prints, so they can pin it (--trust, or their known-sources
file). An existing key is kept unless you pass --force: receivers that pinned it would refuse
the new one.

The default file is identity.key in $XDG_CONFIG_HOME/smocast/ (~/.config/smocast/ when that
variable is unset).

examples:
  smocast keygen                            make ~/.config/smocast/identity.key
  smocast keygen --file ./relay.key --json  a second identity, for a relay
  smocast key fingerprint                   print the fingerprint again later
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "keygen",
        help="make this user's key pair (the identity receivers pin)",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    p.add_argument(
        "--file", type=Path, default=None, metavar="PATH", help="where to write the private key (default: see above)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing key (receivers that pinned it refuse it)")
    p.add_argument("--json", action="store_true", help="print one JSON object: the files and the fingerprint")
    p.set_defaults(handler=deferred("smocast.cli.key_run", "keygen"))
