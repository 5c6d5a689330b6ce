"""Ed25519 identities and their fingerprints.

A source (and, where a source asks for it, a receiver) has one long-term Ed25519 key pair.
Users compare and pin keys by fingerprint: the SHA-256 of the raw 32-byte public key,
written in lowercase base32 (RFC 4648, no padding) in 13 groups of four characters after
``SHA256:``, for example::

    SHA256:q3xv-7k2m-...-4tfa

Base32 has no characters that look alike in most fonts (no 0/O, 1/l); the groups make it
easy to read aloud and compare. The whole digest is kept: a fingerprint is the key's name,
and nobody can make a second key with the same one.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from smocast.secure.errors import FingerprintError
from smocast.secure.primitives import DIGEST_SIZE, RandomBytes, sha256

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SEED_SIZE = 32
FINGERPRINT_PREFIX = "SHA256:"
_GROUP = 4


def format_fingerprint(digest: bytes) -> str:
    """The printed form of a fingerprint digest: ``SHA256:`` and 13 dash-separated groups."""
    if len(digest) != DIGEST_SIZE:
        raise ValueError(f"a fingerprint digest is {DIGEST_SIZE} bytes, not {len(digest)}")
    text = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    return FINGERPRINT_PREFIX + "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def parse_fingerprint(text: str) -> bytes:
    """The digest a typed fingerprint names; raise FingerprintError saying what is wrong.

    The ``SHA256:`` prefix is optional; case, dashes and blanks do not matter.
    """
    body = text.strip()
    if body[: len(FINGERPRINT_PREFIX)].upper() == FINGERPRINT_PREFIX.upper():
        body = body[len(FINGERPRINT_PREFIX) :]
    body = "".join(body.replace("-", "").split()).upper()
    expected = -(-DIGEST_SIZE * 8 // 5)  # 52 base32 characters
    if len(body) != expected:
        raise FingerprintError(
            f"{text.strip()!r} is not a fingerprint: expected {expected} base32 characters "
            f"(as `smocast key fingerprint` prints them), got {len(body)}"
        )
    try:
        digest = base64.b32decode(body + "=" * (-len(body) % 8))
    except binascii.Error:
        raise FingerprintError(
            f"{text.strip()!r} is not a fingerprint: only the letters a-z and digits 2-7 may appear"
        ) from None
    return digest


class PublicIdentity:
    """A peer's Ed25519 public key: verifies its signatures; ``fingerprint`` names it."""

    __slots__ = ("_key", "digest", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != PUBLIC_KEY_SIZE:
            raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes, not {len(raw)}")
        self.raw = raw
        self._key = Ed25519PublicKey.from_public_bytes(raw)
        self.digest = sha256(raw)

    @property
    def fingerprint(self) -> str:
        """The printed fingerprint (:func:`format_fingerprint` of ``digest``)."""
        return format_fingerprint(self.digest)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when ``signature`` is this key's signature of ``message``."""
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicIdentity) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"PublicIdentity({self.fingerprint})"


class Identity:
    """An Ed25519 key pair: signs; ``public`` is what peers pin.

    Make one with :meth:`generate` (random bytes injected) or :meth:`from_seed`; read and
    write key files with :mod:`smocast.secure.keyfiles`.
    """

    __slots__ = ("_key", "public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicIdentity(key.public_key().public_bytes_raw())

    @classmethod
    def generate(cls, randbytes: RandomBytes) -> Identity:
        """A new key pair from ``randbytes`` (the OS's in a real run, a seeded one in a simulation)."""
        return cls.from_seed(randbytes(SEED_SIZE))

    @classmethod
    def from_seed(cls, seed: bytes) -> Identity:
        """The key pair of a 32-byte private seed (RFC 8032)."""
        if len(seed) != SEED_SIZE:
            raise ValueError(f"an Ed25519 seed is {SEED_SIZE} bytes, not {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The ``cryptography`` key object (for serialising it to a key file)."""
        return self._key

    def sign(self, message: bytes) -> bytes:
        """This key's 64-byte signature of ``message``."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Identity({self.public.fingerprint})"
