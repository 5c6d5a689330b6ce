"""The source side of a set of files: what to send (:func:`scan`), sending it, and serving it again.

``smocast send a.iso photos/ -`` becomes one :class:`SourceSet`: the manifest
(:mod:`smocast.apps.fileset`) and, for each entry, where its bytes come from. Directories
are walked in name order, a directory before what it holds; symbolic links and special
files inside them are skipped (and listed), so nothing outside the named trees is sent.
``-`` is standard input, a stream of unknown size, and must be alone.

:func:`send_set` sends the manifest and then every file back to back, small files
coalesced into large writes. :class:`SetHistory` serves any stream range again from the
disk, for receivers that resume (``open_channel(history=...)``).
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import os
import stat
import sys
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from smocast.aio.errors import os_error_message
from smocast.apps.fileset import TRAILER, Entry, FileSet, Kind, check_entries
from smocast.apps.manifest import ManifestError, safe_name
from smocast.core.errors import SmocastError

if TYPE_CHECKING:
    from smocast.aio.channel import AsyncChannel

CHUNK = 1 << 18  # bytes read from disk and handed to the channel at a time
HASH_CHUNK = 1 << 20
OPEN_FILES = 8  # descriptors SetHistory keeps open
STDIN = "-"

Progress = Callable[[int, int], None]
"""Called with (file bytes sent, file bytes in total)."""


class SourceError(SmocastError):
    """A file to send could not be read, or changed while it was sent."""


@dataclass(frozen=True, slots=True)
class SourceSet:
    """What one ``smocast send`` sends: the manifest, and where each entry's bytes are (None: stdin)."""

    fileset: FileSet
    paths: tuple[Path | None, ...]
    skipped: tuple[str, ...] = ()
    manifest: bytes = field(default=b"", repr=False)

    @property
    def is_stream(self) -> bool:
        return self.fileset.is_stream


# --- what to send ------------------------------------------------------------------------------------


def scan(arguments: Sequence[str | Path], name: str | None = None) -> SourceSet:
    """The set named by ``arguments`` (files, directories, or ``-`` alone); hashes every file.

    Raises :class:`SourceError` for a missing or unreadable file and
    :class:`~smocast.apps.manifest.ManifestError` for names a receiver would refuse.
    """
    texts = [str(a) for a in arguments]
    if STDIN in texts:
        if len(texts) != 1:
            raise SourceError("'-' (standard input) must be the only thing sent")
        entry = Entry(safe_name(name or "stdin"), Kind.STREAM, 0, 0o644, None)
        return _finish(FileSet(entry.path, (entry,)), (None,), ())
    entries: list[Entry] = []
    paths: list[Path | None] = []
    skipped: list[str] = []
    for text in texts:
        for entry, path in _walk_argument(Path(text), skipped):
            entries.append(entry)
            paths.append(path)
    set_name = name or (entries[0].path.split("/")[0] if len(texts) == 1 else f"{len(texts)} items")
    fileset = FileSet(set_name, tuple(entries))
    check_entries(fileset)  # two arguments with one name
    return _finish(fileset, tuple(paths), tuple(skipped))


def _finish(fileset: FileSet, paths: tuple[Path | None, ...], skipped: tuple[str, ...]) -> SourceSet:
    return SourceSet(fileset, paths, skipped, fileset.encode())


def _walk_argument(path: Path, skipped: list[str]) -> Iterator[tuple[Entry, Path]]:
    try:
        info = path.stat()  # a link named on the command line is followed
    except OSError as exc:
        raise SourceError(os_error_message(exc, f"cannot send {path}")) from None
    top = safe_name(path.resolve().name or "root") if stat.S_ISDIR(info.st_mode) else safe_name(path.name)
    if stat.S_ISDIR(info.st_mode):
        yield from _walk_directory(path, top, info, skipped)
    elif stat.S_ISREG(info.st_mode):
        yield _file_entry(path, top, info), path
    else:
        raise SourceError(f"cannot send {path}: not a regular file or a directory")


def _walk_directory(path: Path, rel: str, info: os.stat_result, skipped: list[str]) -> Iterator[tuple[Entry, Path]]:
    yield Entry(rel, Kind.DIRECTORY, 0, info.st_mode & 0o777, info.st_mtime_ns), path
    try:
        children = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        raise SourceError(os_error_message(exc, f"cannot read the directory {path}")) from None
    for child in children:
        child_rel = f"{rel}/{safe_name(child.name)}"
        child_info = child.stat(follow_symlinks=False)
        if stat.S_ISDIR(child_info.st_mode):
            yield from _walk_directory(Path(child.path), child_rel, child_info, skipped)
        elif stat.S_ISREG(child_info.st_mode):
            yield _file_entry(Path(child.path), child_rel, child_info), Path(child.path)
        else:
            kind = "symbolic link" if stat.S_ISLNK(child_info.st_mode) else "special file"
            skipped.append(f"{child.path} ({kind})")


def _file_entry(path: Path, rel: str, info: os.stat_result) -> Entry:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise SourceError(os_error_message(exc, f"cannot read {path}")) from None
    return Entry(rel, Kind.FILE, size, info.st_mode & 0o777, info.st_mtime_ns, digest.digest())


async def scan_async(arguments: Sequence[str | Path], name: str | None = None) -> SourceSet:
    """:func:`scan` in a worker thread, so the event loop keeps running while files are hashed."""
    return await asyncio.to_thread(scan, arguments, name)


# --- sending -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """What :func:`send_set` sent: file bytes, and standard input's SHA-256 (its size was unknown)."""

    bytes: int
    stream_sha256: builtins.bytes | None = None


async def send_set(channel: AsyncChannel, source: SourceSet, progress: Progress | None = None) -> Sent:
    """Send the manifest and then every file on ``channel``; return what was sent.

    Raises :class:`SourceError` when a file cannot be read or changed size. The caller then
    closes the channel (leaving ``async with`` waits for every receiver).
    """
    await channel.send(source.manifest, message_start=True)
    if source.is_stream:
        return await _send_stdin(channel, progress)
    out = _Coalescer(channel)
    total, sent = source.fileset.total_bytes, 0
    for (_, entry), path in zip(source.fileset.data_entries(), _data_paths(source), strict=True):
        sent += await _send_file(out, entry, path)
        if progress is not None:
            progress(sent, total)
    await out.flush()
    return Sent(sent)


def _data_paths(source: SourceSet) -> list[Path]:
    return [p for (e, p) in zip(source.fileset.entries, source.paths, strict=True) if e.carries_data and p is not None]


async def _send_file(out: _Coalescer, entry: Entry, path: Path) -> int:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(os_error_message(exc, f"cannot read {path}")) from None
    sent = 0
    with handle:
        while chunk := _read(handle, path, CHUNK):
            sent += len(chunk)
            if sent > entry.size:
                raise SourceError(f"{path} grew while it was being sent")
            await out.add(chunk)
    if sent != entry.size:
        raise SourceError(f"{path} shrank while it was being sent ({sent} of {entry.size} bytes)")
    return sent


async def _send_stdin(channel: AsyncChannel, progress: Progress | None) -> Sent:
    stdin: BinaryIO = sys.stdin.buffer
    digest = hashlib.sha256()
    sent = 0
    while chunk := await asyncio.to_thread(_read, stdin, Path("standard input"), CHUNK):
        digest.update(chunk)
        sent += len(chunk)
        await channel.send(chunk)
        if progress is not None:
            progress(sent, 0)
    await channel.send(TRAILER.pack(sent, digest.digest()))
    return Sent(sent, digest.digest())


def _read(handle: BinaryIO, path: Path, size: int) -> bytes:
    try:
        return bytes(handle.read(size))
    except OSError as exc:
        raise SourceError(os_error_message(exc, f"cannot read {path}")) from None


class _Coalescer:
    """Gathers small files into writes of about :data:`CHUNK` bytes (one ``send`` per file would
    cost a pump and a drain each)."""

    def __init__(self, channel: AsyncChannel) -> None:
        self._channel = channel
        self._parts: list[bytes] = []
        self._size = 0

    async def add(self, data: bytes) -> None:
        if not self._parts and len(data) >= CHUNK:
            await self._channel.send(data)
            return
        self._parts.append(data)
        self._size += len(data)
        if self._size >= CHUNK:
            await self.flush()

    async def flush(self) -> None:
        if self._parts:
            data, self._parts, self._size = b"".join(self._parts), [], 0
            await self._channel.send(data)


# --- serving it again ----------------------------------------------------------------------------------


class SetHistory:
    """``history(offset, length)`` over the manifest and the files back to back (``open_channel(history=)``).

    It returns at most up to the end of one file (the channel asks again for the rest) and
    keeps a few files open. A read error yields ``b""``: the channel sends nothing for that
    range, and the receiver, making no progress, is dropped by the progress rule. Call
    :meth:`close` when the channel is done.
    """

    def __init__(self, source: SourceSet) -> None:
        if source.is_stream:
            raise ManifestError("standard input cannot be served again (it is read once)")
        self._manifest = source.manifest
        self._starts: list[int] = []
        self._paths: list[Path] = []
        offset = len(source.manifest)
        for (_, entry), path in zip(source.fileset.data_entries(), _data_paths(source), strict=True):
            if entry.size:
                self._starts.append(offset)
                self._paths.append(path)
                offset += entry.size
        self._end = offset
        self._open: OrderedDict[int, int] = OrderedDict()

    def __call__(self, offset: int, length: int) -> bytes:
        if offset < len(self._manifest):
            return self._manifest[offset : offset + length]
        if length <= 0 or offset >= self._end:
            return b""
        index = bisect_right(self._starts, offset) - 1
        end = self._starts[index + 1] if index + 1 < len(self._starts) else self._end
        try:
            return os.pread(self._fd(index), min(length, end - offset), offset - self._starts[index])
        except OSError:
            return b""

    def _fd(self, index: int) -> int:
        fd = self._open.get(index)
        if fd is None:
            fd = self._open[index] = os.open(self._paths[index], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            if len(self._open) > OPEN_FILES:
                os.close(self._open.popitem(last=False)[1])
        else:
            self._open.move_to_end(index)
        return fd

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()

    def __enter__(self) -> SetHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
