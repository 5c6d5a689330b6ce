"""The secure mode's settings on a real network: which key a source proves, which keys a receiver trusts.

The runtime is secure by default (``docs/security.md``): a source proves this user's key
(``smocast keygen``, or created on first use in the user's configuration directory), and a
receiver accepts a source only by a pinned key:

* ``trust``: fingerprints given by the user (``--trust``);
* else the known-sources file (``--known-sources``, default ``known_sources`` in the
  configuration directory), for the source's address;
* else, only with ``trust_on_first_use``, whatever key the source proves, which is then
  appended to the known-sources file.

A source with an ``allow`` list admits only receivers that prove a listed key; such a
receiver must ``identify`` (prove this user's key, or ``key_file``'s).

This module reads files (through :mod:`smocast.secure.keyfiles`); the protocol layer it
configures stays sans-IO. A source's settings (:class:`~smocast.aio.source_security.SourceSecurity`)
are in :mod:`smocast.aio.source_security`, which a receiver never loads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.secure import keyfiles
from smocast.secure.identity import Identity, PublicIdentity, parse_fingerprint
from smocast.secure.keyexchange import Trust
from smocast.secure.tcpsmo import protect_receiver
from smocast.secure.trust import KnownSource

if TYPE_CHECKING:  # a receiver loads no source side: these are types here
    from smocast.secure.receiver import ProtectedReceiver
    from smocast.smo import events as ev
    from smocast.smo.receiver import Receiver


class ReceiverSecurity(NamedTuple):
    """Which source keys a receiver accepts, and whether it proves a key of its own.

    ``trust``: fingerprints (as typed: ``SHA256:...``); ``known_sources``: the file to look
    the source up in (default: this user's); ``trust_on_first_use``: accept an unknown
    source's key and remember it. ``identify`` proves ``identity`` (or ``key_file``'s, or
    this user's key) to a source that admits listed receivers only.
    """

    trust: tuple[str, ...] = ()
    known_sources: Path | None = None
    trust_on_first_use: bool = False
    identify: bool = False
    identity: Identity | None = None
    key_file: Path | None = None


class LoadedKey(NamedTuple):
    """A key the runtime loaded, and whether it was just created (the caller should say so)."""

    identity: Identity
    path: Path | None
    created: bool


def load_key(identity: Identity | None, key_file: Path | None) -> LoadedKey:
    """``identity``, or the key at ``key_file``; else this user's key, created on first use.

    Raises KeyFileError for an unsafe or unreadable file (its message says how to fix it).
    """
    if identity is not None:
        return LoadedKey(identity, None, False)
    if key_file is not None:
        return LoadedKey(keyfiles.load_identity(key_file), key_file, False)
    path = keyfiles.default_key_path()
    if path.exists():
        return LoadedKey(keyfiles.load_identity(path), path, False)
    return LoadedKey(keyfiles.create_identity(path), path, True)


def known_sources_path(security: ReceiverSecurity) -> Path:
    return security.known_sources or keyfiles.default_known_sources_path()


def resolve_trust(security: ReceiverSecurity, server: Address, name: str) -> Trust:
    """The source keys to accept for the source at ``server`` (typed by the user as ``name``).

    Raises ConfigError, saying what to do, when no key is pinned and trust on first use is off.
    """
    if security.trust:
        return Trust(frozenset(parse_fingerprint(text) for text in security.trust))
    path = known_sources_path(security)
    pinned = keyfiles.read_known_sources(path).trusted(*server) if path.exists() else frozenset()
    if pinned:
        return Trust(pinned)
    if security.trust_on_first_use:
        return Trust(first_use=True)
    raise ConfigError(
        f"no key is pinned for the source at {name}: ask its owner for 'smocast key fingerprint' and pass "
        f"--trust FINGERPRINT, add it to {path}, or pass --trust-on-first-use "
        "(or --insecure for an unauthenticated transfer)"
    )


def remember_source(security: ReceiverSecurity, server: Address, source: PublicIdentity) -> Path | None:
    """After a first use: append the source's key to the known-sources file; the path, or None if pinned."""
    if not security.trust_on_first_use or security.trust:
        return None
    path = known_sources_path(security)
    if path.exists() and source.digest in keyfiles.read_known_sources(path).trusted(*server):
        return None
    address = f"[{server[0]}]:{server[1]}" if ":" in server[0] else f"{server[0]}:{server[1]}"
    keyfiles.append_known_source(path, KnownSource(address, source.digest, "added on first use"))
    return path


def receiver_identity(security: ReceiverSecurity) -> Identity | None:
    """The key a receiver proves (None unless it must identify)."""
    if not security.identify and security.identity is None and security.key_file is None:
        return None
    return load_key(security.identity, security.key_file).identity


def receiver_layer(
    receiver: Receiver, server: Address, security: ReceiverSecurity, name: str
) -> ProtectedReceiver[ev.ReceiverEvent]:
    """``receiver`` behind the protection layer, accepting only the keys ``security`` trusts for ``server``.

    Raises ConfigError when no key is pinned for it (and first use is not allowed).
    """
    trust = resolve_trust(security, server, name)
    identity = receiver_identity(security)
    return protect_receiver(receiver, server, keyfiles.system_random, trust, identity=identity)
