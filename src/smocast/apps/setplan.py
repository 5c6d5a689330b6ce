"""Before a received set is written: the write policy, and the checks made once the manifest is in.

:func:`plan` refuses, before any file is written, what the receiver must not do: a manifest
other than the one announced, two names that one case-insensitive file system would merge,
a file over an existing one (unless the policy allows it; an identical one is kept), a file
over a directory or a directory over a file, and a set larger than the free space.
"""

from __future__ import annotations

import builtins
import os
import stat
from typing import Any, NamedTuple

from smocast.apps.fileset import Entry, FileSet, Kind, case_collision
from smocast.apps.manifest import ManifestError
from smocast.apps.safepath import OutputDir, OutputError
from smocast.core.units import format_size

CONFLICTS_SHOWN = 3

Plan = list[tuple[int, Entry, bool]]
"""``(index, entry, already present)`` of each entry that carries data, in stream order."""


class WritePolicy(NamedTuple):
    """How a receiver writes: ``overwrite``/``backup`` existing files; ``expected`` is the manifest
    digest an announcement promised (None: any); ``keep_partial`` keeps what an interrupted
    receive wrote, for a resume."""

    overwrite: bool = False
    backup: bool = False
    expected: bytes | None = None
    keep_partial: bool = True


class SetReport(NamedTuple):
    """What a finished receive wrote."""

    fileset: FileSet
    written: int  # files written
    present: int  # files already there, identical, kept
    bytes: int  # file bytes received (a stream's size once known)
    stream_sha256: builtins.bytes | None = None  # a stream's SHA-256 (from its trailer)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.fileset.name,
            "digest": self.fileset.digest.hex(),
            "files": self.fileset.files,
            "directories": self.fileset.directories,
            "written": self.written,
            "already_present": self.present,
            "bytes": self.bytes,
        }


def plan(out: OutputDir, fileset: FileSet, policy: WritePolicy) -> Plan:
    """Check ``fileset`` against ``policy`` and the output directory; the data entries to write.

    Raises :class:`ManifestError` or :class:`OutputError`, having written nothing.
    """
    if policy.expected is not None and fileset.digest != policy.expected:
        raise ManifestError("the manifest differs from the one the source announced (digest mismatch)")
    collision = case_collision(fileset)
    if collision is not None and out.case_insensitive():
        a, b = (ascii(p)[:80] for p in collision)
        raise ManifestError(f"refusing {a} and {b}: they name one file on this case-insensitive file system")
    return _check_disk(out, fileset, policy)


def _check_disk(out: OutputDir, fileset: FileSet, policy: WritePolicy) -> Plan:
    plan, conflicts, needed = [], [], 0
    for index, entry in enumerate(fileset.entries):
        existing = out.lstat(entry.path)
        if entry.kind is Kind.DIRECTORY:
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                conflicts.append(f"{out.show(entry.path)} exists and is not a directory")
            continue
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            conflicts.append(f"{out.show(entry.path)} is a directory (a file cannot replace it)")
            continue
        present = existing is not None and out.same_file(entry.path, entry.size, entry.sha256)
        if existing is not None and not present and not (policy.overwrite or policy.backup):
            conflicts.append(f"{out.show(entry.path)} already exists")
        needed += 0 if present else entry.size
        plan.append((index, entry, present))
    if conflicts:
        more = f" (and {len(conflicts) - CONFLICTS_SHOWN} more)" if len(conflicts) > CONFLICTS_SHOWN else ""
        raise OutputError(
            "; ".join(conflicts[:CONFLICTS_SHOWN]) + more + ": nothing was written (use --overwrite or --backup)"
        )
    free = out.free_bytes()
    if needed > free:
        raise OutputError(
            f"the transfer needs {needed} bytes ({format_size(needed)}) and {out.show('')} has "
            f"{free} bytes ({format_size(free)}) free: nothing was written"
        )
    return plan


def finish_file(fd: int, entry: Entry) -> None:
    """A verified file's mode (permission bits only) and modification time, as the manifest says."""
    if entry.mode is not None:
        os.fchmod(fd, entry.mode & 0o777)
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
    if entry.mtime_ns:
        os.utime(fd, ns=(entry.mtime_ns, entry.mtime_ns))
