"""Signed announcements: a secure source signs what it announces, a daemon takes only what its pinned key signed.

The announcement's signature field (:mod:`smocast.apps.announce`) carries the source's
Ed25519 public key (32 bytes) and its signature (64 bytes) of
:meth:`~smocast.apps.announce.Announcement.signed_bytes`, made through the signed-message
hook (:mod:`smocast.secure.signed`, purpose ``b"announcement"``). The key travels with it
because a receiver pins a fingerprint (a digest), not the key itself: the daemon checks that
the key is the one pinned for the announced server, then the signature.

Without this a forged announcement could at most send a daemon to a server that then fails
the handshake (the handshake proves the source's key too); with it, the daemon neither
shows nor follows an announcement its trusted source did not make.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from smocast.aio.netaddr import format_address
from smocast.aio.security import ReceiverSecurity, resolve_trust
from smocast.apps.announce import Announcement
from smocast.core.datagram import Address
from smocast.core.errors import ConfigError
from smocast.secure import signed
from smocast.secure.errors import UntrustedSourceError
from smocast.secure.identity import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, Identity, PublicIdentity
from smocast.secure.keyexchange import Trust

PURPOSE = b"announcement"


def sign_announcement(identity: Identity, announcement: Announcement) -> Announcement:
    """``announcement`` signed by ``identity`` (sign each one sent: its sequence changes)."""
    payload = announcement.signed_bytes()
    signature = signed.sign(identity, PURPOSE, payload)[len(payload) :]
    return replace(announcement, signature=identity.public.raw + signature)


def announcement_refusal(announcement: Announcement, trust: Trust) -> str | None:
    """Why ``announcement`` is not one a trusted source signed, or None when it is."""
    field = announcement.signature
    if not field:
        return "it is not signed (its source runs --insecure, or it is forged)"
    if len(field) != PUBLIC_KEY_SIZE + SIGNATURE_SIZE:
        return f"its signature field holds {len(field)} bytes, not a key and a signature"
    try:
        key = PublicIdentity(field[:PUBLIC_KEY_SIZE])
        trust.check(key)
        signed.verify(key, PURPOSE, announcement.signed_bytes() + field[PUBLIC_KEY_SIZE:])
    except ValueError:
        return "its key is not an Ed25519 public key"
    except UntrustedSourceError:
        return f"it is signed by {key.fingerprint}, not by a key pinned for its server"
    except signed.SignatureError:
        return "its signature does not verify"
    return None


@dataclass(frozen=True, slots=True)
class AnnouncementCheck:
    """The daemon's check (``Daemon.verify``): the key pinned for the announced server signed it."""

    security: ReceiverSecurity

    def __call__(self, announcement: Announcement, sender: Address) -> str | None:
        server = announcement.server_from(sender)
        try:
            trust = resolve_trust(self.security, server, format_address(server))
        except ConfigError:
            return f"no key is pinned for its server {format_address(server)} (--trust, known sources)"
        return announcement_refusal(announcement, trust)
