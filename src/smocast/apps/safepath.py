"""The receiver's output directory: every write stays inside it, whatever the manifest or the tree holds.

:class:`OutputDir` opens ``-o DIR`` once and reaches everything below it through directory
file descriptors opened with ``O_NOFOLLOW``: a symbolic link inside the tree (there before
the transfer, or planted during it) is refused, never followed, so no path can lead
outside. Files are created with ``O_EXCL | O_NOFOLLOW`` under temporary names and put in
place by ``link`` (which never replaces: no overwrite) or ``rename`` (``--overwrite``;
``--backup`` first renames the old file to ``NAME~``). A rename replaces a link itself, never
what it points to.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections import OrderedDict
from pathlib import Path

from smocast.aio.errors import os_error_message
from smocast.core.errors import SmocastError

PART_SUFFIX = ".smocast-part"
BACKUP_SUFFIX = "~"
DIR_CACHE = 64  # directory descriptors kept open
HASH_CHUNK = 1 << 20
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_O_NEW = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class OutputError(SmocastError):
    """A write into the output directory was refused or failed; nothing was written outside it."""


class MissingDirectory(OutputError):
    """A directory on the way does not exist (and was not to be made)."""


class OutputDir:
    """``-o DIR``, opened once. Close it (or use ``with``) when the transfer is over."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        try:
            self._root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise OutputError(os_error_message(exc, f"cannot open the output directory {self.root}")) from None
        self._dirs: OrderedDict[str, int] = OrderedDict()

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1

    # --- directories -------------------------------------------------------------------------------

    def directory(self, rel: str, *, create: bool = False) -> int:
        """A descriptor of the directory ``rel`` ("" is the root), made (mode 0700) when missing and ``create``.

        Raises :class:`OutputError` when a component is a symbolic link or not a directory.
        The descriptor belongs to this object: do not close it.
        """
        if not rel:
            return self._root_fd
        fd = self._dirs.get(rel)
        if fd is not None:
            self._dirs.move_to_end(rel)
            return fd
        parent, _, name = rel.rpartition("/")
        fd = self._open_dir(self.directory(parent, create=create), name, rel, create)
        self._dirs[rel] = fd
        if len(self._dirs) > DIR_CACHE:
            os.close(self._dirs.popitem(last=False)[1])
        return fd

    def _open_dir(self, parent: int, name: str, rel: str, create: bool) -> int:
        try:
            return os.open(name, _O_DIR, dir_fd=parent)
        except FileNotFoundError:
            if not create:
                raise MissingDirectory(f"{self.show(rel)} does not exist") from None
        except OSError as exc:
            raise self._not_a_directory(exc, rel) from None
        with contextlib.suppress(FileExistsError):  # another transfer made it meanwhile
            os.mkdir(name, 0o700, dir_fd=parent)
        try:
            return os.open(name, _O_DIR, dir_fd=parent)
        except OSError as exc:
            raise self._not_a_directory(exc, rel) from None

    def _not_a_directory(self, exc: OSError, rel: str) -> OutputError:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            kind = "a symbolic link" if self.is_link(rel) else "not a directory"
            return OutputError(f"refusing to write under {self.show(rel)}: it is {kind} (nothing is written outside)")
        return OutputError(os_error_message(exc, f"cannot open {self.show(rel)}"))

    def is_link(self, rel: str) -> bool:
        try:
            info = self.lstat(rel)
        except OutputError:
            return False
        return info is not None and stat.S_ISLNK(info.st_mode)

    def lstat(self, rel: str) -> os.stat_result | None:
        """What is at ``rel`` (a link itself, not its target), or None. Parents are not created;
        a parent that is a link or not a directory raises :class:`OutputError`."""
        parent, _, name = rel.rpartition("/")
        try:
            return os.stat(name, dir_fd=self.directory(parent), follow_symlinks=False)
        except (FileNotFoundError, MissingDirectory):
            return None

    # --- files ---------------------------------------------------------------------------------------

    def create_temp(self, rel: str, tag: str = "") -> tuple[int, str]:
        """A new empty file beside ``rel`` under a hidden temporary name: ``(descriptor, name)``.

        ``tag`` goes into the name, so :meth:`remove_orphans` can find a transfer's leftovers.
        """
        parent, _, name = rel.rpartition("/")
        where = self.directory(parent, create=True)
        for _ in range(16):
            temp = f".{name[:48]}.{tag}{secrets.token_hex(6)}{PART_SUFFIX}"
            try:
                return os.open(temp, _O_NEW, 0o600, dir_fd=where), temp
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(os_error_message(exc, f"cannot create a file in {self.show(parent)}")) from None
        raise OutputError(f"cannot create a temporary file in {self.show(parent)}")

    def reopen_temp(self, rel: str, temp: str) -> int:
        """The temporary file ``temp`` beside ``rel``, opened to append (for a resume)."""
        parent = rel.rpartition("/")[0]
        flags = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(temp, flags, dir_fd=self.directory(parent))
        except OSError as exc:
            raise OutputError(os_error_message(exc, f"cannot reopen the partial file of {self.show(rel)}")) from None

    def remove_temp(self, rel: str, temp: str) -> None:
        """Remove the temporary file ``temp`` beside ``rel``, if it is there."""
        parent = rel.rpartition("/")[0]
        with contextlib.suppress(OSError, OutputError):
            os.unlink(temp, dir_fd=self.directory(parent))

    def remove_orphans(self, directories: set[str], tag: str) -> int:
        """Remove temporary files tagged ``tag`` in ``directories`` (left by a killed receiver); count them."""
        removed = 0
        for rel in directories:
            try:
                where = self.directory(rel)
                names = os.listdir(where)  # noqa: PTH208  (a directory descriptor: no Path for it)
            except (OSError, OutputError):
                continue
            for name in names:
                if name.startswith(".") and name.endswith(PART_SUFFIX) and f".{tag}" in name:
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=where)
                        removed += 1
        return removed

    def place(self, rel: str, temp: str, *, overwrite: bool, backup: bool) -> None:
        """Give the verified temporary file its final name ``rel``.

        Without ``overwrite`` or ``backup`` an existing ``rel`` is an error (the check and
        the naming are one step: ``link``). ``backup`` keeps the old file as ``rel~``.
        Never replaces a directory.
        """
        parent, _, name = rel.rpartition("/")
        where = self.directory(parent)
        if not (overwrite or backup):  # the common case: one link, no look first
            try:
                self._link(where, temp, name, rel)
            except OSError as exc:
                raise OutputError(os_error_message(exc, f"cannot move the received file to {self.show(rel)}")) from None
            return
        existing = self.lstat(rel)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise OutputError(f"cannot write {self.show(rel)}: a directory of that name exists")
        try:
            if backup and existing is not None:
                os.rename(name, name + BACKUP_SUFFIX, src_dir_fd=where, dst_dir_fd=where)
            os.rename(temp, name, src_dir_fd=where, dst_dir_fd=where)
        except OSError as exc:
            raise OutputError(os_error_message(exc, f"cannot move the received file to {self.show(rel)}")) from None

    def _link(self, where: int, temp: str, name: str, rel: str) -> None:
        try:
            os.link(temp, name, src_dir_fd=where, dst_dir_fd=where, follow_symlinks=False)
        except FileExistsError:
            raise OutputError(f"{self.show(rel)} already exists (use --overwrite or --backup)") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            if self.lstat(rel) is not None:  # no hard links here: check, then rename
                raise OutputError(f"{self.show(rel)} already exists (use --overwrite or --backup)") from None
            os.rename(temp, name, src_dir_fd=where, dst_dir_fd=where)
            return
        os.unlink(temp, dir_fd=where)

    def same_file(self, rel: str, size: int, sha256: bytes) -> bool:
        """Whether ``rel`` is a regular file (not a link) with this size and SHA-256."""
        info = self.lstat(rel)
        if info is None or not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
        parent, _, name = rel.rpartition("/")
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=self.directory(parent))
        except OSError:
            return False
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
        return digest.digest() == sha256

    def set_times_and_mode(self, rel: str, mode: int | None, mtime_ns: int | None) -> None:
        """Apply a directory's mode and modification time (after its files are written)."""
        parent, _, name = rel.rpartition("/")
        where = self.directory(parent)
        with contextlib.suppress(OSError):
            if mode is not None:
                os.chmod(name, mode & 0o777, dir_fd=where, follow_symlinks=False)
            if mtime_ns:
                os.utime(name, ns=(mtime_ns, mtime_ns), dir_fd=where, follow_symlinks=False)

    # --- the file system ---------------------------------------------------------------------------

    def case_insensitive(self) -> bool:
        """Whether the file system under the root folds case (``A`` and ``a`` name one file)."""
        probe = f".smocast-case-{secrets.token_hex(6)}"
        fd = os.open(probe, _O_NEW, 0o600, dir_fd=self._root_fd)
        os.close(fd)
        try:
            return _exists(self._root_fd, probe.upper())
        finally:
            os.unlink(probe, dir_fd=self._root_fd)

    def free_bytes(self) -> int:
        """Bytes an unprivileged writer may still use on the root's file system."""
        info = os.fstatvfs(self._root_fd)
        return int(info.f_bavail * info.f_frsize)

    def show(self, rel: str) -> str:
        """``rel`` as shown in messages: under the output directory (reports escape control characters)."""
        return str(self.root / rel) if rel else str(self.root)


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True
