"""Writing a received set of files: the manifest, then each file under a temporary name, verified, put in place.

:class:`SetWriter` is fed the stream's bytes in order (:meth:`SetWriter.feed_at`, from
whichever server). As soon as the manifest is in, before any file is written, its paths are
checked (:func:`~smocast.apps.fileset.decode`) and the whole transfer is planned against
the output directory (:func:`~smocast.apps.setplan.plan`: case folding, existing files,
free space).

Each file goes to a hidden temporary file beside its final name and takes that name only
once its SHA-256 matches; its mode and modification time follow the manifest. Directories
get theirs at the end. :meth:`SetWriter.suspend` keeps the partial file and a resume state
(:mod:`smocast.apps.resume`); :meth:`SetWriter.discard` removes both.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

from smocast.aio.errors import os_error_message
from smocast.apps import resume
from smocast.apps.fileset import TRAILER, Entry, FileSet, Kind, body_length, decode
from smocast.apps.manifest import HEADER_SIZE, ManifestError
from smocast.apps.resume import Partial, ResumeState
from smocast.apps.safepath import OutputDir, OutputError
from smocast.apps.setplan import SetReport, WritePolicy, finish_file, plan

SAVE_INTERVAL = 0.5  # seconds between resume-state saves while data flows

Progress = Callable[[int, int], None]
"""Called with (file bytes done, file bytes in total)."""


class ResumeMismatch(OutputError):
    """The server's bytes differ from the partial file: it sends another transfer."""


class SetWriter:
    """The set being rebuilt in ``out``; ``offset`` is the stream bytes taken (where a resume asks to start)."""

    def __init__(self, out: OutputDir, policy: WritePolicy, origin: str, progress: Progress | None = None) -> None:
        self.out = out
        self.policy = policy
        self.origin = origin
        self.offset = 0
        self.fileset: FileSet | None = None
        self.resumed_from = 0
        self._progress = progress
        self._head = bytearray()
        self._manifest_end = 0
        self._stream_end: int | None = None  # the stream's length, once the manifest says it
        self._plan: list[tuple[int, Entry, bool]] = []  # (index, entry, already present) of data entries
        self._next = 0  # the next item of _plan
        self._entry: Entry | None = None
        self._index = -1
        self._present = False
        self._left = 0  # bytes of the current entry still to come
        self._entry_bytes = 0
        self._fd: int | None = None
        self._temp: str | None = None
        self._digest: Any = hashlib.sha256()
        self._tail = b""  # a stream's last bytes, held back: its trailer
        self._stream_sha256: bytes | None = None
        self._done_bytes = 0
        self._written = 0
        self._kept = 0
        self._saved_at = 0.0

    def fresh(self) -> SetWriter:
        """A new writer with the same output, policy and origin (after a failed :meth:`restore`)."""
        return SetWriter(self.out, self.policy, self.origin, self._progress)

    # --- input ---------------------------------------------------------------------------------------

    def bytes_to_come(self) -> int | None:
        """Stream bytes still to come, as the manifest counts them; None before the manifest is
        in, and for a stream of unknown length (read from standard input)."""
        fileset = self.fileset
        if fileset is None or fileset.is_stream:
            return None
        if self._stream_end is None:  # counted once: a set may hold a million entries
            self._stream_end = self._manifest_end + sum(entry.size for _, entry in fileset.data_entries())
        return max(0, self._stream_end - self.offset)

    def feed_at(self, at: int, chunk: bytes) -> None:
        """Stream bytes ``chunk`` starting at stream offset ``at`` (at most :attr:`offset`).

        Bytes below :attr:`offset` were taken already: those inside the partial file are
        compared with it (:class:`ResumeMismatch` when they differ), the rest dropped.
        """
        if at > self.offset:
            raise OutputError(f"the stream jumped from byte {self.offset} to {at}")
        if at < self.offset:
            overlap = min(len(chunk), self.offset - at)
            self._check_overlap(at, chunk[:overlap])
            chunk = chunk[overlap:]
        if chunk:
            self.feed(chunk)

    def feed(self, chunk: bytes) -> None:
        """The next bytes of the stream, in order."""
        self.offset += len(chunk)
        if self.fileset is None:
            chunk = self._take_manifest(chunk)
        view = memoryview(chunk)
        while view:
            if self._entry is None and not self._open_next():
                raise OutputError(f"the source sent more than its manifest announced (at byte {self.offset})")
            view = self._write(view)
        self._maybe_save()

    def _take_manifest(self, chunk: bytes) -> bytes:
        self._head += chunk
        if len(self._head) < HEADER_SIZE:
            return b""
        version, length = body_length(bytes(self._head[:HEADER_SIZE]))
        end = HEADER_SIZE + length
        if len(self._head) < end:
            return b""
        manifest = bytes(self._head[:end])
        rest = bytes(self._head[end:])
        self._head = bytearray()
        self._start(decode(version, manifest[HEADER_SIZE:]), manifest)
        return rest

    # --- the plan --------------------------------------------------------------------------------------

    def _start(self, fileset: FileSet, manifest: bytes) -> None:
        """The manifest is in: check it against the policy and the disk, make the directories."""
        self._plan = plan(self.out, fileset, self.policy)
        self.fileset = fileset
        self._manifest_end = len(manifest)
        for entry in fileset.entries:
            if entry.kind is Kind.DIRECTORY:
                self.out.directory(entry.path, create=True)
        if self.policy.keep_partial and not fileset.is_stream:
            resume.save_manifest(self.out.root, fileset.digest.hex()[: resume.ID_HEX], manifest)
            self.save()

    # --- entries ---------------------------------------------------------------------------------------

    def _open_next(self) -> bool:
        """Start the next data entry (finishing empty files at once); False when none is left."""
        while self._next < len(self._plan):
            index, entry, present = self._plan[self._next]
            self._next += 1
            self._entry, self._index, self._present = entry, index, present
            self._left = entry.size if entry.kind is Kind.FILE else -1
            self._entry_bytes = 0
            self._digest = hashlib.sha256()
            if not present:
                self._fd, self._temp = self.out.create_temp(entry.path, self._tag())
            if self._left == 0:
                self._complete()
                continue
            return True
        return False

    def _write(self, view: memoryview) -> memoryview:
        """Write what belongs to the current entry; return the rest."""
        if self._left < 0:  # a stream: everything, less the trailer held back
            data = self._tail + bytes(view)
            keep = min(len(data), TRAILER.size)
            self._tail = data[len(data) - keep :]
            self._put(memoryview(data)[: len(data) - keep])
            return view[len(view) :]
        take = view[: self._left]
        self._put(take)
        self._left -= len(take)
        if self._left == 0:
            self._complete()
        return view[len(take) :]

    def _put(self, data: memoryview) -> None:
        if not data:
            return
        self._entry_bytes += len(data)
        self._done_bytes += len(data)
        if not self._present:
            self._digest.update(data)
            assert self._fd is not None
            try:
                while data:
                    data = data[os.write(self._fd, data) :]
            except OSError as exc:
                raise OutputError(os_error_message(exc, f"cannot write {self.out.show(self._entry_path())}")) from None
        if self._progress is not None and self.fileset is not None:
            self._progress(self._done_bytes, self.fileset.total_bytes)

    def _tag(self) -> str:
        """What this transfer's temporary names carry: the manifest digest's first bytes."""
        return self.fileset.digest.hex()[:8] + "-" if self.fileset is not None else ""

    def _entry_path(self) -> str:
        return self._entry.path if self._entry is not None else ""

    def _complete(self, size: int | None = None, sha256: bytes | None = None) -> None:
        """The current entry's bytes are all in: verify, set mode and time, give it its name."""
        entry = self._entry
        assert entry is not None
        self._entry = None
        if self._present:
            self._kept += 1
            return
        expected = sha256 if sha256 is not None else entry.sha256
        fd, temp = self._fd, self._temp
        assert fd is not None and temp is not None
        self._fd = None
        self._temp = None
        try:
            if self._digest.digest() != expected:
                raise OutputError(
                    f"SHA-256 mismatch for {self.out.show(entry.path)}: the manifest says {expected.hex()[:16]}..., "
                    f"the received bytes hash to {self._digest.hexdigest()[:16]}...; the file was not saved"
                )
            finish_file(fd, entry)
        except BaseException:
            self.out.remove_temp(entry.path, temp)
            raise
        finally:
            os.close(fd)
        try:
            self.out.place(entry.path, temp, overwrite=self.policy.overwrite, backup=self.policy.backup)
        except OutputError:
            self.out.remove_temp(entry.path, temp)
            if not self.out.same_file(entry.path, entry.size if size is None else size, expected):
                raise
            self._kept += 1  # put there by an earlier, interrupted run of this transfer (or another)
            return
        self._written += 1

    # --- the end ---------------------------------------------------------------------------------------

    def finish(self) -> SetReport:
        """The stream ended: every entry must be complete. Directories get their modes and times."""
        fileset = self.fileset
        if fileset is None:
            raise ManifestError("the stream ended inside the file manifest")
        if self._entry is not None and self._left < 0:
            self._finish_stream()
        if self._entry is not None or self._open_next():
            raise OutputError(f"the stream ended after {self._done_bytes} of {fileset.total_bytes} bytes of files")
        if self.resumed_from:  # a killed run may have left temporary files the state never named
            self.out.remove_orphans({e.path.rpartition("/")[0] for e in fileset.entries}, self._tag())
        for entry in sorted(fileset.entries, key=lambda e: -e.path.count("/")):
            if entry.kind is Kind.DIRECTORY:
                self.out.set_times_and_mode(entry.path, entry.mode, entry.mtime_ns)
        resume.remove(self.out.root, fileset.digest.hex()[: resume.ID_HEX])
        return SetReport(fileset, self._written, self._kept, self._done_bytes, self._stream_sha256)

    def _finish_stream(self) -> None:
        if len(self._tail) < TRAILER.size:
            raise OutputError("the stream ended before its trailer (size and SHA-256)")
        size, digest = TRAILER.unpack(self._tail)
        if size != self._entry_bytes:
            raise OutputError(f"the stream's trailer says {size} bytes, {self._entry_bytes} arrived")
        self._stream_sha256 = bytes(digest)
        self._complete(size, bytes(digest))

    def suspend(self) -> bool:
        """The receive stopped early: keep the partial file and save the resume state.

        Returns False (and discards everything) when nothing can be resumed: no manifest
        yet, a stream, or a policy that keeps nothing.
        """
        if self.fileset is None or self.fileset.is_stream or not self.policy.keep_partial:
            self.discard()
            return False
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.save()
        return True

    def discard(self) -> None:
        """Remove the partial file and the resume state."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._temp is not None and self._entry is not None:
            self.out.remove_temp(self._entry.path, self._temp)
            self._temp = None
        if self.fileset is not None:
            resume.remove(self.out.root, self.fileset.digest.hex()[: resume.ID_HEX])

    # --- resume ----------------------------------------------------------------------------------------

    def save(self) -> None:
        """Write the resume state now (the file's bytes written so far are in the page cache)."""
        fileset = self.fileset
        if fileset is None or not self.policy.keep_partial or fileset.is_stream:
            return
        partial = None
        if self._entry is not None and self._temp is not None:
            partial = Partial(self._entry.path, self._temp, self._entry_bytes)
        entry = self._index if self._entry is not None else self._plan_index()
        state = ResumeState(fileset.digest, self.origin, self.offset, entry, partial)
        with contextlib.suppress(OSError):
            resume.save(self.out.root, state)
        self._saved_at = time.monotonic()

    def _plan_index(self) -> int:
        return self._plan[self._next][0] if self._next < len(self._plan) else len(self._plan)

    def _maybe_save(self) -> None:
        if self.policy.keep_partial and time.monotonic() - self._saved_at >= SAVE_INTERVAL:
            self.save()

    def restore(self, state: ResumeState, manifest: bytes) -> None:
        """Take up an interrupted receive: its manifest, its partial file (cut back and hashed again).

        Raises :class:`OutputError` (and forgets the state) when it no longer fits: then
        receive from the start.
        """
        version, _ = body_length(manifest[:HEADER_SIZE])
        fileset = decode(version, manifest[HEADER_SIZE:])
        if fileset.digest != state.digest:
            raise OutputError("the resume state does not match its manifest")
        self.fileset, self._manifest_end = fileset, len(manifest)
        self._plan = [(i, e, False) for i, e in fileset.data_entries()]
        self._next = next((k for k, (i, _, _) in enumerate(self._plan) if i >= state.entry), len(self._plan))
        self.offset = self._manifest_end + sum(e.size for _, e, _ in self._plan[: self._next])
        self._done_bytes = self.offset - self._manifest_end
        partial = state.partial
        if self.offset + (partial.bytes if partial is not None else 0) != state.offset:
            raise OutputError(f"the resume state says byte {state.offset}, its files do not add up to it")
        if partial is not None:
            self._reopen(partial)
        self.resumed_from = self.offset

    def _reopen(self, partial: Partial) -> None:
        index, entry, _ = self._plan[self._next]
        if entry.path != partial.path or not 0 <= partial.bytes <= entry.size:
            raise OutputError("the resume state's partial file does not match its manifest")
        self._next += 1
        try:
            fd = self.out.reopen_temp(entry.path, partial.temp)
        except OutputError:
            if not self.out.same_file(entry.path, entry.size, entry.sha256):
                raise
            self.offset += entry.size  # finished and named after the last save
            self._done_bytes += entry.size
            return
        self._entry, self._index, self._present, self._fd, self._temp = entry, index, False, fd, partial.temp
        digest = hashlib.sha256()
        if os.fstat(fd).st_size < partial.bytes:
            raise OutputError(f"the partial file of {self.out.show(entry.path)} is shorter than its state says")
        os.ftruncate(fd, partial.bytes)
        done = 0
        while done < partial.bytes:
            piece = os.pread(fd, min(1 << 20, partial.bytes - done), done)
            digest.update(piece)
            done += len(piece)
        os.lseek(fd, partial.bytes, os.SEEK_SET)
        self._digest, self._entry_bytes, self._left = digest, partial.bytes, entry.size - partial.bytes
        self.offset += partial.bytes
        self._done_bytes += partial.bytes

    def partial_tail(self, limit: int) -> int:
        """How many bytes before :attr:`offset` lie in the partial file (at most ``limit``): a resume
        may ask for them again, to check the server sends the same bytes."""
        return min(limit, self._entry_bytes) if self._entry is not None and not self._present else 0

    def _check_overlap(self, at: int, data: bytes) -> None:
        start = self.offset - self._entry_bytes  # the partial file's first stream byte
        if self._fd is None or at < start:
            return
        on_disk = os.pread(self._fd, len(data), at - start)
        if on_disk != data:
            raise ResumeMismatch(
                f"the server sends other bytes than the partial {self.out.show(self._entry_path())} holds: "
                "it serves another transfer"
            )
