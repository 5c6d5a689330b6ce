"""What an interrupted receive leaves so that it can resume: a small state file and the manifest.

In the output directory, for the transfer whose manifest digest starts with ``<id>``::

    .smocast-<id>.manifest   the manifest, as received (written once)
    .smocast-<id>.state      JSON, replaced atomically (written beside, then renamed):
                             {"version": 1, "digest": "<hex>", "origin": "<server>@<group>",
                              "written": [[0, <first missing byte>]], "entry": <index>,
                              "partial": {"path": "<rel>", "temp": "<name>", "bytes": <n>} | null}

``written`` counts stream bytes (the manifest included): everything below its end is in
place or in the partial file, so a resume asks the server for that offset. The partial
file (``partial.temp``, beside its final ``path``) may hold more than ``partial.bytes``
(written after the last save): a resume cuts it back. Files completed since the last save
are already under their final names; the receiver finds them identical and keeps them.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

STATE_VERSION = 1
PREFIX = ".smocast-"
ID_HEX = 16


class Partial(NamedTuple):
    """The file being written when the receive stopped: its final path, its temporary name, bytes kept."""

    path: str
    temp: str
    bytes: int


class ResumeState(NamedTuple):
    """Where an interrupted receive stands (see the module's docstring)."""

    digest: bytes
    origin: str
    offset: int
    entry: int
    partial: Partial | None

    @property
    def ident(self) -> str:
        return self.digest.hex()[:ID_HEX]

    def as_json(self) -> dict[str, Any]:
        partial = None
        if self.partial is not None:
            partial = {"path": self.partial.path, "temp": self.partial.temp, "bytes": self.partial.bytes}
        return {
            "version": STATE_VERSION,
            "digest": self.digest.hex(),
            "origin": self.origin,
            "written": [[0, self.offset]],
            "entry": self.entry,
            "partial": partial,
        }


def state_path(root: Path, ident: str) -> Path:
    return root / f"{PREFIX}{ident}.state"


def manifest_path(root: Path, ident: str) -> Path:
    return root / f"{PREFIX}{ident}.manifest"


def save(root: Path, state: ResumeState) -> None:
    """Write ``state`` atomically (beside, then renamed over the old one)."""
    final = state_path(root, state.ident)
    temp = final.with_name(final.name + ".new")
    temp.write_text(json.dumps(state.as_json()))
    temp.replace(final)


def save_manifest(root: Path, ident: str, manifest: bytes) -> None:
    manifest_path(root, ident).write_bytes(manifest)


def load_manifest(root: Path, ident: str) -> bytes | None:
    try:
        return manifest_path(root, ident).read_bytes()
    except OSError:
        return None


def remove(root: Path, ident: str) -> None:
    """Forget a transfer's resume state (its partial file is the caller's to remove)."""
    for path in (state_path(root, ident), manifest_path(root, ident)):
        with contextlib.suppress(OSError):
            path.unlink()


def load(path: Path) -> ResumeState | None:
    """The state in ``path``; None when it is missing, unreadable or not one we wrote."""
    try:
        raw = json.loads(path.read_text())
        partial = raw["partial"]
        (start, end), *rest = raw["written"]
        if raw["version"] != STATE_VERSION or start != 0 or rest:
            return None
        kept = None if partial is None else Partial(str(partial["path"]), str(partial["temp"]), int(partial["bytes"]))
        return ResumeState(bytes.fromhex(raw["digest"]), str(raw["origin"]), int(end), int(raw["entry"]), kept)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def states(root: Path) -> list[ResumeState]:
    """Every resume state in the output directory ``root``, oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(root), key=lambda e: e.stat().st_mtime if e.is_file() else 0.0):
            if entry.name.startswith(PREFIX) and entry.name.endswith(".state"):
                state = load(Path(entry.path))
                if state is not None:
                    found.append(state)
    return found
