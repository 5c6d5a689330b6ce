"""The file-transfer manifest: what a file is, sent first in the stream, and a safe name for it.

Layout, big-endian::

    0  4s   magic b"SMOF"
    4  u8   version (1)
    5  u32  body length (at most MAX_BODY)
    9  ...  body: u64 size | 32 bytes SHA-256 | name, UTF-8 (the rest of the body)

The receiver trusts nothing in it: :func:`safe_name` refuses any name that is not a plain
file name, so a manifest can never make a receiver write outside its output directory.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from pathlib import Path
from typing import NamedTuple

from smocast.core.errors import RemoteProtocolError

MAGIC = b"SMOF"
VERSION = 1
MAX_BODY = 4096
MAX_NAME_BYTES = 255  # NAME_MAX of common file systems
_HEADER = struct.Struct("!4sBI")
_FIXED = struct.Struct("!Q32s")
HEADER_SIZE = _HEADER.size
HASH_CHUNK = 1 << 20


class ManifestError(RemoteProtocolError):
    """The manifest is malformed, of an unknown version, or names an unsafe file."""


class Manifest(NamedTuple):
    """A file's name, size and SHA-256 digest (32 raw bytes)."""

    name: str
    size: int
    sha256: bytes

    def encode(self) -> bytes:
        """The manifest's bytes. The name is not checked here: receivers check it."""
        body = _FIXED.pack(self.size, self.sha256) + self.name.encode("utf-8", "surrogatepass")
        return _HEADER.pack(MAGIC, VERSION, len(body)) + body

    @property
    def hexdigest(self) -> str:
        return self.sha256.hex()


def body_length(header: bytes) -> int:
    """Check the fixed header; return how many body bytes follow it."""
    magic, version, length = _HEADER.unpack(header)
    if magic != MAGIC:
        raise ManifestError("the stream does not start with a smocast file manifest")
    if version != VERSION:
        raise ManifestError(f"manifest version {version} is not supported (this is version {VERSION})")
    if not _FIXED.size <= length <= MAX_BODY:
        raise ManifestError(f"manifest body of {length} bytes (allowed {_FIXED.size}..{MAX_BODY})")
    return int(length)


def decode_body(body: bytes) -> Manifest:
    size, digest = _FIXED.unpack_from(body)
    try:
        name = body[_FIXED.size :].decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError("the file name in the manifest is not valid UTF-8") from None
    return Manifest(name, int(size), bytes(digest))


_UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))


def safe_name(name: str) -> str:
    """``name`` if it is a plain file name; otherwise raise :class:`ManifestError`.

    Refused: empty names, ``.`` and ``..``, anything with ``/`` or ``\\``, absolute or
    drive paths, NUL and other control characters, and names over 255 bytes.
    """
    if not name.strip() or name in (".", "..") or "/" in name or "\\" in name or ":" in name[1:2]:
        raise ManifestError(_refusal(name))
    if not name.isprintable() and any(unicodedata.category(c) in _UNSAFE_CATEGORIES for c in name):
        raise ManifestError(f"refusing the file name {ascii(name)[:80]}: it contains control characters")
    size = len(name.encode("utf-8", "surrogatepass"))
    if size > MAX_NAME_BYTES:
        raise ManifestError(f"refusing a file name of {size} bytes (at most {MAX_NAME_BYTES})")
    return name


def _refusal(name: str) -> str:
    shown = ascii(name)[:80]
    if not name.strip():
        return "refusing an empty file name in the manifest"
    if name in (".", ".."):
        return f"refusing the file name {shown} in the manifest"
    return f"refusing the file name {shown}: it is a path, not a name"


def describe_file(path: Path, name: str | None = None) -> Manifest:
    """The manifest of the file at ``path``, hashed in chunks (memory stays bounded)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Manifest(safe_name(name if name is not None else path.name), size, digest.digest())
