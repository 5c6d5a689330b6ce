"""The secure mode's settings of a source: the key it proves, the receivers it admits, how it signs.

A source proves this user's key (``smocast keygen``, or created on first use in the user's
configuration directory) unless told another; with an ``allow`` list it admits only receivers
that prove a listed key. :func:`source_layer` puts a channel behind the protection layer. A
receiver's settings, and the key loading both sides share, are in :mod:`smocast.aio.security`;
a receiver never loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smocast.aio.security import LoadedKey, load_key
from smocast.secure import keyfiles
from smocast.secure.signing import FILE_BLOCKS, BlockPolicy
from smocast.secure.tcpsmo import protect_channel

if TYPE_CHECKING:
    from smocast.secure.allowlist import AllowList
    from smocast.secure.identity import Identity
    from smocast.secure.source import ProtectedSource
    from smocast.smo import events as ev
    from smocast.smo.channel import Channel


@dataclass(frozen=True, slots=True)
class SourceSecurity:
    """How a source protects its channel; the defaults prove this user's key to anyone.

    ``identity`` (or ``key_file``; default: this user's key, created on first use) is the key
    receivers pin; ``allow`` admits only listed receivers; ``blocks`` is the signing policy
    (live streams pass ``LIVE_BLOCKS``).
    """

    identity: Identity | None = None
    key_file: Path | None = None
    allow: AllowList | None = None
    blocks: BlockPolicy = FILE_BLOCKS


def source_layer(
    channel: Channel, security: SourceSecurity, now: float
) -> tuple[ProtectedSource[ev.SourceEvent], LoadedKey]:
    """``channel`` behind the protection layer, with the key it proves (loaded, or created now)."""
    key = load_key(security.identity, security.key_file)
    layer = protect_channel(
        channel, key.identity, keyfiles.system_random, allow=security.allow, blocks=security.blocks, now=now
    )
    from smocast.secure.warmup import warm_up  # noqa: PLC0415 - the source side only

    warm_up()  # the first receiver's handshake must not pay the libraries' first use inside its round trip
    return layer, key
