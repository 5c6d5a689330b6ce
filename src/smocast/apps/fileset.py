"""The manifest of a set of files: every file and directory of a transfer, sent first in the stream.

Layout, big-endian (version 2 of :mod:`smocast.apps.manifest`'s header)::

    0  4s   magic b"SMOF"
    4  u8   version (2)
    5  u32  body length (at most MAX_BODY)
    9  ...  body:
            u16 name length | name, UTF-8 (what the set is called: shown, matched by filters)
            u32 entry count (at most MAX_ENTRIES)
            entries, each:
              u8 kind (0 file, 1 directory, 2 stream) | u16 mode | i64 mtime (ns)
              u64 size | 32 bytes SHA-256 | u16 path length | path, UTF-8, "/"-separated
            u16 signature length | signature (reserved: empty until sources sign; not in the digest)

The files' bytes follow the manifest back to back, in entry order. A *stream* (standard
input, size unknown in advance) is the only entry of its set; its bytes run to the end of
the stream, less a 40-byte trailer (u64 size | SHA-256) that the source appends.

A receiver trusts nothing here: :func:`decode` checks every path (:func:`safe_path`), the
limits and duplicates; where the files land is :mod:`smocast.apps.safepath`'s business.
:attr:`FileSet.digest` (SHA-256 over everything but the signature) names the transfer: in
announcements, in resume state, and as what a source will sign.
"""

from __future__ import annotations

import hashlib
import struct
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import NamedTuple

from smocast.apps.manifest import HEADER_SIZE, MAGIC, ManifestError, decode_body, safe_name
from smocast.apps.manifest import MAX_BODY as SINGLE_FILE_MAX_BODY
from smocast.apps.manifest import VERSION as SINGLE_FILE_VERSION

VERSION = 2
MAX_BODY = 64 << 20  # a receiver buffers the manifest whole: this bounds that memory
MAX_ENTRIES = 1_000_000
MAX_PATH_BYTES = 4096  # PATH_MAX
MAX_SIGNATURE = 4096
TRAILER = struct.Struct("!Q32s")  # a stream's size and SHA-256, at the very end
_HEADER = struct.Struct("!4sBI")
_ENTRY = struct.Struct("!BHqQ32sH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
NO_DIGEST = bytes(32)


class Kind(IntEnum):
    FILE = 0
    DIRECTORY = 1
    STREAM = 2


class Entry(NamedTuple):
    """One file or directory: ``path`` relative to the set's root, ``mode`` its permission bits.

    ``mtime_ns`` is None when the source did not say (a single-file manifest of version 1).
    """

    path: str
    kind: Kind
    size: int = 0
    mode: int | None = 0o644
    mtime_ns: int | None = None
    sha256: bytes = NO_DIGEST

    @property
    def hexdigest(self) -> str:
        return self.sha256.hex()

    @property
    def carries_data(self) -> bool:
        return self.kind is not Kind.DIRECTORY


@dataclass(frozen=True)
class FileSet:
    """The manifest of one transfer: its ``name``, its entries in stream order, and a signature slot.

    Its digest and totals are computed once (a set may hold a million entries)."""

    name: str
    entries: tuple[Entry, ...]
    signature: bytes = b""

    def encode(self) -> bytes:
        """The manifest's bytes (header, body, signature). Paths are not checked here: receivers check them."""
        body = self._signed_body() + _U16.pack(len(self.signature)) + self.signature
        return _HEADER.pack(MAGIC, VERSION, len(body)) + body

    def _signed_body(self) -> bytes:
        name = self.name.encode("utf-8", "surrogatepass")
        parts = [_U16.pack(len(name)), name, _U32.pack(len(self.entries))]
        for e in self.entries:
            path = e.path.encode("utf-8", "surrogatepass")
            mode = 0o644 if e.mode is None else e.mode
            parts.append(_ENTRY.pack(e.kind, mode, e.mtime_ns or 0, e.size, e.sha256, len(path)) + path)
        return b"".join(parts)

    def signed_bytes(self) -> bytes:
        """What a source signs (and :attr:`digest` hashes): the magic, the version and the body
        without its signature field."""
        return MAGIC + bytes([VERSION]) + self._signed_body()

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of :meth:`signed_bytes`: the transfer's name in announcements and resume state."""
        return hashlib.sha256(self.signed_bytes()).digest()

    @cached_property
    def files(self) -> int:
        return sum(1 for e in self.entries if e.carries_data)

    @cached_property
    def directories(self) -> int:
        return sum(1 for e in self.entries if e.kind is Kind.DIRECTORY)

    @cached_property
    def total_bytes(self) -> int:
        """Bytes of file data (a stream counts 0: its size is not known in advance)."""
        return sum(e.size for e in self.entries if e.kind is Kind.FILE)

    @property
    def is_stream(self) -> bool:
        return len(self.entries) == 1 and self.entries[0].kind is Kind.STREAM

    def data_entries(self) -> Iterator[tuple[int, Entry]]:
        """``(index, entry)`` of each entry that carries bytes, in stream order."""
        return ((i, e) for i, e in enumerate(self.entries) if e.carries_data)


# --- decoding ---------------------------------------------------------------------------------------


def body_length(header: bytes) -> tuple[int, int]:
    """Check the fixed header; return ``(version, body length)``."""
    magic, version, length = _HEADER.unpack(header)
    if magic != MAGIC:
        raise ManifestError("the stream does not start with a smocast file manifest")
    if version not in (SINGLE_FILE_VERSION, VERSION):
        raise ManifestError(f"manifest version {version} is not supported (this is version {VERSION})")
    limit = SINGLE_FILE_MAX_BODY if version == SINGLE_FILE_VERSION else MAX_BODY
    if not 0 < length <= limit:
        raise ManifestError(f"manifest body of {length} bytes (allowed 1..{limit})")
    return int(version), int(length)


def decode(version: int, body: bytes) -> FileSet:
    """The set a manifest body describes; :class:`ManifestError` for anything malformed or unsafe.

    A version 1 body (one file: size, SHA-256, name) is read as a set of one file.
    """
    if version == SINGLE_FILE_VERSION:
        return _decode_single(body)
    reader = _Reader(body)
    name = _text(reader.take(reader.u16()), "set name")
    count = reader.u32()
    if count > MAX_ENTRIES:
        raise ManifestError(f"the manifest lists {count} entries (at most {MAX_ENTRIES})")
    entries = tuple(_decode_entry(reader) for _ in range(count))
    signature = reader.take(reader.u16())
    if len(signature) > MAX_SIGNATURE:
        raise ManifestError(f"a manifest signature of {len(signature)} bytes (at most {MAX_SIGNATURE})")
    if reader.left:
        raise ManifestError(f"{reader.left} stray bytes after the manifest")
    fileset = FileSet(name, entries, signature)
    check_entries(fileset)
    return fileset


def _decode_single(body: bytes) -> FileSet:
    if len(body) < 40:
        raise ManifestError(f"a version 1 manifest body of {len(body)} bytes is too short")
    single = decode_body(body)
    entry = Entry(safe_name(single.name), Kind.FILE, single.size, None, None, single.sha256)
    return FileSet(single.name, (entry,))


def _decode_entry(reader: _Reader) -> Entry:
    kind, mode, mtime, size, digest, length = _ENTRY.unpack(reader.take(_ENTRY.size))
    try:
        kind = Kind(kind)
    except ValueError:
        raise ManifestError(f"unknown entry kind {kind} in the manifest") from None
    path = safe_path(_text(reader.take(length), "path"))
    if kind is Kind.DIRECTORY and (size or digest != NO_DIGEST):
        raise ManifestError(f"the directory {ascii(path)[:80]} has a size or a digest")
    return Entry(path, kind, int(size), mode & 0o777, int(mtime), bytes(digest))


def check_entries(fileset: FileSet) -> None:
    """Refuse duplicates, a path under a file, and a stream that is not alone."""
    kinds: dict[str, Kind] = {}
    for entry in fileset.entries:
        if entry.path in kinds:
            raise ManifestError(f"the manifest lists {ascii(entry.path)[:80]} twice")
        kinds[entry.path] = entry.kind
        if entry.kind is Kind.STREAM and len(fileset.entries) != 1:
            raise ManifestError("a stream of unknown size must be the only entry of its manifest")
    for path in kinds:
        parent = path.rpartition("/")[0]
        while parent:
            if kinds.get(parent, Kind.DIRECTORY) is not Kind.DIRECTORY:
                raise ManifestError(f"the manifest puts {ascii(path)[:80]} under the file {ascii(parent)[:80]}")
            parent = parent.rpartition("/")[0]


def safe_path(path: str) -> str:
    """``path`` if it is a relative path of plain names joined by ``/``; else :class:`ManifestError`.

    Each component passes :func:`~smocast.apps.manifest.safe_name` (no ``..``, no ``\\``, no
    control characters, at most 255 bytes); the whole is at most 4096 bytes.
    """
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise ManifestError(f"refusing a path of more than {MAX_PATH_BYTES} bytes")
    if path.startswith("/"):
        raise ManifestError(f"refusing the absolute path {ascii(path)[:80]}")
    for part in path.split("/"):
        safe_name(part)
    return path


def fold(path: str) -> str:
    """The form under which a case-insensitive file system sees ``path`` (NFC, case folded)."""
    return unicodedata.normalize("NFC", path).casefold()


def case_collision(fileset: FileSet) -> tuple[str, str] | None:
    """Two paths of the set that differ only in case (or Unicode form), or None."""
    seen: dict[str, str] = {}
    for entry in fileset.entries:
        folded = fold(entry.path)
        if folded in seen and seen[folded] != entry.path:
            return seen[folded], entry.path
        seen.setdefault(folded, entry.path)
    return None


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ManifestError(f"a {what} in the manifest is not valid UTF-8") from None


class _Reader:
    """Bounds-checked reads from a manifest body."""

    __slots__ = ("_at", "_body")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._at = 0

    @property
    def left(self) -> int:
        return len(self._body) - self._at

    def take(self, n: int) -> bytes:
        if n > self.left:
            raise ManifestError("the manifest ends in the middle of an entry")
        self._at += n
        return self._body[self._at - n : self._at]

    def u16(self) -> int:
        return int(_U16.unpack(self.take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self.take(4))[0])


def manifest_length(data: bytes) -> int | None:
    """The length of the whole manifest at the start of ``data``, or None until its header is in."""
    if len(data) < HEADER_SIZE:
        return None
    return HEADER_SIZE + body_length(data[:HEADER_SIZE])[1]
