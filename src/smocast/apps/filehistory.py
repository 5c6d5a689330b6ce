"""The stream of a file transfer (manifest, then the file) served again from the disk.

A source that keeps no copy of what it sent can still serve a receiver that resumes from an
offset below its send buffer: one that failed over from a dead relay, for example. Pass a
:class:`FileHistory` as ``history=`` to ``open_channel``; the channel calls it with
``(offset, length)`` and sends what it returns as repairs. The receiver's SHA-256 check
covers these bytes like any others, so a file changed on disk meanwhile is caught there.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType


class FileHistory:
    """``history(offset, length)`` over ``header`` followed by the file at ``path``.

    Open it with ``with FileHistory(...) as history:`` (or call :meth:`close`): it holds the
    file open for the channel's lifetime. A read error yields ``b""``: the channel sends
    nothing for that range, and the receiver, making no progress, is dropped by the
    progress rule (never handed bytes that are not the file's).
    """

    def __init__(self, header: bytes, path: Path | str) -> None:
        self._header = header
        self._fd: int | None = os.open(path, os.O_RDONLY)

    def __call__(self, offset: int, length: int) -> bytes:
        header = self._header
        if offset < len(header):
            return header[offset : offset + length]
        if self._fd is None or length <= 0:
            return b""
        try:
            return os.pread(self._fd, length, offset - len(header))
        except OSError:
            return b""

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileHistory:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
