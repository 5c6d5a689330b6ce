"""The primitives the secure mode composes, every one from ``cryptography`` (and SHA-256 from ``hashlib``).

Nothing here is our own cryptography: an AEAD (ChaCha20-Poly1305) keyed per direction and
per group epoch, with the nonce built from a packet number as TLS 1.3 and QUIC build it
(RFC 8446 section 5.3: the packet number, left-padded, XORed with a per-key IV); HKDF
(RFC 5869) to derive keys; SHA-256 for hashes. ``hashlib``'s SHA-256 is OpenSSL's, the
implementation ``cryptography`` calls too; its one-call API costs less per packet than
building a hash object per packet (``smocast bench crypto`` reports both).

Randomness is injected: a :data:`RandomBytes` function. The runtime passes the operating
system's (``os.urandom``, from :mod:`smocast.secure.keyfiles`); a simulation passes a seeded
``random.Random().randbytes``, so a seeded run derives the same keys every time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

RandomBytes = Callable[[int], bytes]
"""``randbytes(n)``: ``n`` random bytes. Inject the OS's in a real run, a seeded one in a simulation."""

KEY_SIZE = 32
IV_SIZE = 12
TAG_SIZE = 16
SECRET_SIZE = 32
DIGEST_SIZE = 32

INTEGRITY_LIMIT = 1 << 36
"""Failed openings one ChaCha20-Poly1305 key may see before it must be retired (RFC 9001, section 6.6)."""


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def hkdf_extract_expand(secret: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract from ``secret`` with ``salt``, expand to ``length`` bytes for ``info``."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


def hkdf_expand(secret: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand-SHA256 of a secret that is already uniformly random (a traffic secret)."""
    return HKDFExpand(algorithm=hashes.SHA256(), length=length, info=info).derive(secret)


class PacketKey:
    """One AEAD key and its IV: seals and opens packets numbered by the caller.

    A packet number must never be sealed twice under one key (the caller counts up); the
    nonce is the IV XORed with the number. ``aad`` is the envelope header, authenticated
    but sent in the clear.
    """

    __slots__ = ("_aead", "_iv", "failures")

    def __init__(self, key: bytes, iv: bytes) -> None:
        if len(key) != KEY_SIZE or len(iv) != IV_SIZE:
            raise ValueError(f"a packet key is {KEY_SIZE} bytes with a {IV_SIZE}-byte IV")
        self._aead = ChaCha20Poly1305(key)
        self._iv = int.from_bytes(iv, "big")
        self.failures = 0

    @classmethod
    def derive(cls, secret: bytes, label: bytes) -> PacketKey:
        """The key and IV HKDF-Expand derives from ``secret`` for ``label``."""
        material = hkdf_expand(secret, b"smocast packet key " + label, KEY_SIZE + IV_SIZE)
        return cls(material[:KEY_SIZE], material[KEY_SIZE:])

    def seal(self, number: int, aad: bytes, plaintext: bytes) -> bytes:
        """The ciphertext and tag of ``plaintext`` as packet ``number``."""
        return self._aead.encrypt((self._iv ^ number).to_bytes(IV_SIZE, "big"), plaintext, aad)

    def open(self, number: int, aad: bytes, ciphertext: bytes | memoryview) -> bytes | None:
        """The plaintext, or None when the tag does not verify (the failure is counted).

        A key past :data:`INTEGRITY_LIMIT` failures opens nothing more: the caller must
        replace it.
        """
        if self.failures >= INTEGRITY_LIMIT:
            return None
        try:
            return self._aead.decrypt((self._iv ^ number).to_bytes(IV_SIZE, "big"), ciphertext, aad)
        except InvalidTag:
            self.failures += 1
            return None
