"""The secure mode's options, shared by ``send``, ``stream``, ``relay`` (a source) and ``recv`` (a receiver).

Secure is the default: a source proves this user's key (created on first use), a receiver
accepts only a pinned source key. ``--insecure`` turns the layer off on both sides. Parsing
loads no ``cryptography``; :func:`source_options` and :func:`receiver_options` (called by
the commands' handlers) load the files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smocast.aio.security import ReceiverSecurity
    from smocast.aio.source_security import SourceSecurity

INSECURE_HELP = (
    "no authentication or encryption (for comparisons and the papers' experiments): anyone on the "
    "LAN can read, forge and reset"
)


def add_source_security(parser: argparse.ArgumentParser, *, relay: bool = False) -> None:
    """``--insecure``, ``--key`` and ``--allow`` (and, for a relay, the upstream's trust options)."""
    group = parser.add_argument_group(
        "security (on by default: every packet authenticated and encrypted; receivers pin this source's key)"
    )
    group.add_argument("--insecure", action="store_true", help=INSECURE_HELP)
    group.add_argument(
        "--key",
        type=Path,
        default=None,
        metavar="FILE",
        help="the private key to prove (default: this user's, made by 'smocast keygen' or on first use)",
    )
    group.add_argument(
        "--allow",
        type=Path,
        default=None,
        metavar="FILE",
        help="admit only receivers proving a key listed in FILE (one fingerprint a line); the others "
        "get nothing of the channel, not even the file's name",
    )
    if relay:
        _add_trust(group, whose="the upstream")


def add_receiver_security(parser: argparse.ArgumentParser) -> None:
    """``--insecure``, ``--trust``, ``--known-sources``, ``--trust-on-first-use``, ``--identify``, ``--key``."""
    group = parser.add_argument_group("security (on by default: the source must prove a key this receiver pinned)")
    group.add_argument("--insecure", action="store_true", help=INSECURE_HELP)
    _add_trust(group, whose="the source")
    group.add_argument(
        "--identify",
        action="store_true",
        help="prove this user's key to the source (needed where the source admits listed receivers "
        "only: give its owner 'smocast key fingerprint')",
    )
    group.add_argument(
        "--key", type=Path, default=None, metavar="FILE", help="with --identify: the private key to prove"
    )


def _add_trust(group: Any, *, whose: str) -> None:
    group.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="FINGERPRINT",
        help=f"accept {whose} only if it proves this key (SHA256:...); repeatable",
    )
    group.add_argument(
        "--known-sources",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"look {whose}'s key up in FILE (lines 'HOST[:PORT] FINGERPRINT'; default: this user's known_sources)",
    )
    group.add_argument(
        "--trust-on-first-use",
        action="store_true",
        help=f"accept the key {whose} proves if none is pinned for it, and add it to the known sources",
    )


def source_options(args: argparse.Namespace, *, live: bool = False) -> tuple[bool, SourceSecurity | None]:
    """The ``secure`` and ``security`` keywords of ``open_channel`` from the parsed options."""
    if args.insecure:
        if args.key is not None or args.allow is not None:
            from smocast.core.errors import ConfigError  # noqa: PLC0415

            raise ConfigError("--key and --allow protect a channel: they make no sense with --insecure")
        return False, None
    from smocast.aio.source_security import SourceSecurity  # noqa: PLC0415  (loads the secure mode only when used)
    from smocast.secure import keyfiles  # noqa: PLC0415
    from smocast.secure.signing import FILE_BLOCKS, LIVE_BLOCKS  # noqa: PLC0415

    blocks = LIVE_BLOCKS if live else FILE_BLOCKS
    allow = keyfiles.read_allow_list(args.allow) if args.allow is not None else None
    return True, SourceSecurity(key_file=args.key, allow=allow, blocks=blocks)


def receiver_options(args: argparse.Namespace, *, upstream: bool = False) -> tuple[bool, ReceiverSecurity | None]:
    """The ``secure`` and ``security`` keywords of ``connect`` from the parsed options."""
    if args.insecure:
        return False, None
    from smocast.cli.common import paused_gc  # noqa: PLC0415

    with paused_gc():  # the secure layer and cryptography: imports only
        from smocast.aio.security import ReceiverSecurity  # noqa: PLC0415
        from smocast.secure.identity import parse_fingerprint  # noqa: PLC0415

    for text in args.trust:
        parse_fingerprint(text)  # a typo is an error now, not a refused source later
    security = ReceiverSecurity(
        trust=tuple(args.trust),
        known_sources=args.known_sources,
        trust_on_first_use=args.trust_on_first_use,
        identify=False if upstream else args.identify,
        key_file=None if upstream else args.key,
    )
    return True, security


def source_notes(channel: Any) -> list[str]:
    """What a source tells its user once it is open: the key receivers must pin (and a new key's file)."""
    if not getattr(channel, "secure", False):
        return ["insecure: nothing is authenticated or encrypted"]
    notes = [f"source key {channel.fingerprint} (receivers: --trust {channel.fingerprint})"]
    if channel.key_created is not None:
        notes.append(f"created a new key in {channel.key_created}")
    return notes


def segment_size(mss: int | None, secure: bool) -> int:
    """``--mss``, or the default: 1400, less the layer's 34 bytes in the secure mode."""
    from smocast.aio.api import ENVELOPE_OVERHEAD  # noqa: PLC0415  (the parsers load no runtime)
    from smocast.smo.config import DEFAULT_MSS  # noqa: PLC0415

    if mss is not None:
        return mss
    return DEFAULT_MSS - ENVELOPE_OVERHEAD if secure else DEFAULT_MSS


def source_security_json(channel: Any) -> dict[str, Any]:
    """The secure mode as a command's JSON reports it: on or off, the key, what the layer counted."""
    protection = channel.protection
    return {
        "secure": channel.secure,
        "source_key": channel.fingerprint,
        "mss": channel.config.mss,
        "protection": protection.as_json() if protection is not None else None,
    }


def receiver_security_json(rx: Any) -> dict[str, Any]:
    """The receiver's side: on or off, the key the source proved, what the layer counted."""
    protection = rx.protection
    return {
        "secure": rx.secure,
        "source_key": rx.source_fingerprint,
        "protection": protection.as_json() if protection is not None else None,
    }


def receiver_notes(rx: Any) -> list[str]:
    """What a receiver tells its user once connected: the source's proven key, or that nothing is."""
    if not rx.secure:
        return ["insecure: nothing is authenticated or encrypted"]
    notes = [f"the source proved the key {rx.source_fingerprint}"]
    if rx.remembered is not None:
        notes.append(f"trusted on first use: added to {rx.remembered}")
    return notes
