"""Signed messages: the hook for what must carry the source's own signature beyond one hop.

Everything a source multicasts is already covered by its signed blocks, hop by hop. Some
messages need the signature of the *original* source to travel with them: a file's manifest
that crosses relays (each relay re-signs the stream with its own key), or an announcement
that a daemon publishes outside any channel. :func:`sign` appends an Ed25519 signature to
such a message, and :func:`verify` checks it against the key a receiver pinned.

The signature covers a label, the message's ``purpose`` (``b"manifest"``,
``b"announcement"``: a signature made for one purpose never verifies for another) and the
payload, whose format stays its owner's: this module never parses it.
"""

from __future__ import annotations

import struct

from smocast.core.errors import RemoteProtocolError
from smocast.secure.identity import SIGNATURE_SIZE, Identity, PublicIdentity

LABEL = b"smocast signed message v1"
_PURPOSE = struct.Struct("!B")
MAX_PURPOSE = 255


class SignatureError(RemoteProtocolError):
    """A signed message whose signature does not verify for the expected key and purpose."""


def _signed_part(purpose: bytes, payload: bytes) -> bytes:
    if not 0 < len(purpose) <= MAX_PURPOSE:
        raise ValueError(f"a purpose is 1 to {MAX_PURPOSE} bytes")
    return LABEL + _PURPOSE.pack(len(purpose)) + purpose + payload


def sign(identity: Identity, purpose: bytes, payload: bytes) -> bytes:
    """``payload`` followed by its signature for ``purpose``: send it as it is."""
    return payload + identity.sign(_signed_part(purpose, payload))


def verify(source: PublicIdentity, purpose: bytes, message: bytes) -> bytes:
    """The payload of a message :func:`sign` made with ``source``'s key for ``purpose``.

    Raises SignatureError otherwise (another key, another purpose, any changed byte): drop
    the message and use nothing of it.
    """
    if len(message) < SIGNATURE_SIZE:
        raise SignatureError("too short to carry a signature")
    payload, signature = message[:-SIGNATURE_SIZE], message[-SIGNATURE_SIZE:]
    if not source.verify(signature, _signed_part(purpose, payload)):
        raise SignatureError(f"the {purpose.decode(errors='replace')} is not signed by {source.fingerprint}")
    return payload
