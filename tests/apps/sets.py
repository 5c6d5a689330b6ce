"""Helpers of the file-set tests: trees on disk, and the stream a source sends for them."""

from __future__ import annotations

import random
from pathlib import Path

from smocast.apps.fileset import Entry, FileSet, Kind
from smocast.apps.setsource import SourceSet, scan


def make_tree(root: Path, seed: int = 1) -> Path:
    """A small tree under ``root/tree``: files of several sizes, an empty file, an empty directory."""
    rng = random.Random(seed)
    tree = root / "tree"
    (tree / "sub" / "deep").mkdir(parents=True)
    (tree / "empty-dir").mkdir()
    (tree / "a.bin").write_bytes(rng.randbytes(300_000))
    (tree / "sub" / "b.txt").write_bytes(b"hello\n")
    (tree / "sub" / "empty.txt").write_bytes(b"")
    (tree / "sub" / "deep" / "c.bin").write_bytes(rng.randbytes(70_001))
    (tree / "sub" / "b.txt").chmod(0o600)
    (tree / "a.bin").chmod(0o755)
    return tree


def stream_of(source: SourceSet) -> bytes:
    """What ``send_set`` puts on the channel for ``source``: the manifest, then every file's bytes."""
    parts = [source.manifest]
    for entry, path in zip(source.fileset.entries, source.paths, strict=True):
        if entry.kind is Kind.FILE and path is not None:
            parts.append(path.read_bytes())
    return b"".join(parts)


def scanned(*paths: Path) -> SourceSet:
    return scan([str(p) for p in paths])


def forged(*entries: Entry, name: str = "forged") -> FileSet:
    return FileSet(name, tuple(entries))


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (directories as None), to compare trees."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}
