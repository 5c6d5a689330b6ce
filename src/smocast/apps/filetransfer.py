"""File transfer over a TCP-SMO channel: a manifest first, then the bytes; every copy verified.

The source hashes the file (SHA-256), sends the :class:`~smocast.apps.manifest.Manifest`
and then streams the file from disk in chunks, so memory stays bounded whatever the size.

A receiver checks the manifest's name (:func:`~smocast.apps.manifest.safe_name`), writes to
a temporary file inside the output directory, and moves it to its final name only when the
size and the SHA-256 match. On any failure, including cancellation (Ctrl-C) and a full
disk, the temporary file is removed: a partial file never carries the final name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from smocast.aio.errors import NetworkError, os_error_message
from smocast.aio.netaddr import format_address
from smocast.aio.options import parse_address
from smocast.aio.receiver import AsyncReceiver
from smocast.apps.manifest import (
    HEADER_SIZE,
    Manifest,
    ManifestError,
    body_length,
    decode_body,
    describe_file,
    safe_name,
)
from smocast.core.datagram import Address
from smocast.core.errors import SmocastError
from smocast.wire import ResetCode

if TYPE_CHECKING:
    from smocast.aio.channel import AsyncChannel, ChannelSummary

CHUNK = 1 << 18  # bytes read from disk, or taken from the stream, at a time
PART_SUFFIX = ".smocast-part"
TEMP_ATTEMPTS = 16

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in total)."""


class FileTransferError(SmocastError):
    """The file could not be sent or received; no partial file was left under its final name."""


class IntegrityError(FileTransferError):
    """The received bytes are not the file the manifest announced (SHA-256 or size)."""

    reset_code = ResetCode.VERIFY_FAILED  # what a receiver tells its source (smocast.aio.leaving)


class SendReport(NamedTuple):
    """What ``send_file`` sent and how the channel ended."""

    manifest: Manifest
    summary: ChannelSummary

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "file": self.manifest.name,
            "sha256": self.manifest.hexdigest,
            "receivers": s.receivers,
            "completed": s.completed,
            "dropped": s.dropped,
            "left": s.left,
            "refused": s.refused,
            "bytes": self.manifest.size,
            "wall_time_s": round(s.wall_time_s, 6) if s.wall_time_s is not None else None,
            "goodput_bps": round(self.manifest.size * 8 / s.wall_time_s, 1) if s.wall_time_s else 0.0,
            "segments": {
                "original": s.stats.original_segments,
                "repair_unicast": s.stats.repair_unicast,
                "repair_multicast": s.stats.repair_multicast,
            },
            "acks_processed": s.stats.acks_processed,
            "catch_up": s.stats.catch_up(),
            "per_receiver": [r.as_json() for r in s.records],
        }


class ReceivedFile(NamedTuple):
    """A verified file. ``wall_time_s`` runs from the handshake to the file in place (so it
    includes waiting for other receivers); ``goodput_bps`` counts from the first byte."""

    path: Path
    size: int
    sha256: str
    wall_time_s: float
    transfer_time_s: float
    repairs: int
    failovers: int = 0  # servers given up on the way (receive_file_with_fallback)

    @property
    def goodput_bps(self) -> float:
        return self.size * 8 / self.transfer_time_s if self.transfer_time_s > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "bytes": self.size,
            "sha256": self.sha256,
            "verified": True,
            "wall_time_s": round(self.wall_time_s, 6),
            "transfer_time_s": round(self.transfer_time_s, 6),
            "goodput_bps": round(self.goodput_bps, 1),
            "repairs": self.repairs,
            "failovers": self.failovers,
        }


# --- the source ------------------------------------------------------------------------------


async def describe(path: Path | str, name: str | None = None) -> Manifest:
    """The manifest of ``path`` (hashed in a worker thread, so the event loop keeps running)."""
    path = Path(path)
    try:
        return await asyncio.to_thread(describe_file, path, name)
    except OSError as exc:
        raise FileTransferError(os_error_message(exc, f"cannot read {path}")) from None
    except ManifestError as exc:
        raise FileTransferError(f"cannot send {path}: {exc}") from None


async def send_file(
    channel: AsyncChannel,
    path: Path | str,
    *,
    manifest: Manifest | None = None,
    name: str | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Send the manifest and then the file at ``path`` on ``channel``; return the manifest.

    The caller then closes the channel (leaving ``async with`` waits for every receiver).
    """
    path = Path(path)
    if manifest is None:
        manifest = await describe(path, name)
    await channel.send(manifest.encode(), message_start=True)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FileTransferError(os_error_message(exc, f"cannot read {path}")) from None
    sent = 0
    with handle:
        while chunk := _read(handle, path):
            sent += len(chunk)
            if sent > manifest.size:
                raise FileTransferError(f"{path} grew while it was being sent")
            await channel.send(chunk)
            if progress is not None:
                progress(sent, manifest.size)
    if sent != manifest.size:
        raise FileTransferError(f"{path} shrank while it was being sent ({sent} of {manifest.size} bytes)")
    return manifest


def _read(handle: Any, path: Path) -> bytes:
    try:
        return bytes(handle.read(CHUNK))
    except OSError as exc:
        raise FileTransferError(os_error_message(exc, f"cannot read {path}")) from None


# --- a receiver ------------------------------------------------------------------------------


class FileSink:
    """Writes received bytes to the temporary file (a test can make ``write`` fail)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


async def read_manifest(rx: AsyncReceiver) -> Manifest:
    """The manifest at the start of the stream; :class:`ManifestError` if it is not one."""
    try:
        header = await rx.readexactly(HEADER_SIZE)
        return decode_body(await rx.readexactly(body_length(header)))
    except asyncio.IncompleteReadError:
        raise ManifestError("the stream ended inside the file manifest") from None


async def receive_file(rx: AsyncReceiver, out_dir: Path | str, *, progress: Progress | None = None) -> ReceivedFile:
    """Receive one file from ``rx`` into ``out_dir``; return it once verified.

    Raises :class:`~smocast.apps.manifest.ManifestError` (bad manifest, unsafe name),
    :class:`FileTransferError` (size or hash mismatch, disk full, write errors), or the
    runtime's errors (reset, network). Nothing is left behind in ``out_dir`` on failure.
    """
    out = Path(out_dir)
    if not out.is_dir():
        raise FileTransferError(f"the output directory {out} does not exist")
    if rx.start:
        raise FileTransferError(
            f"joined the stream at byte {rx.start}, not at its start: a file needs the "
            "whole stream (the source must wait for receivers)"
        )
    rx.hold_end()  # the source hears of a bad hash too: the end is acknowledged once the file is in place
    manifest = await read_manifest(rx)
    final = out / safe_name(manifest.name)
    fd, temp = _create_temp(out, final.name)
    sink = FileSink(fd)
    try:
        digest = await _receive_into(rx, sink, manifest, final, progress)
        sink.close()
        _check(manifest, digest, final)
        try:
            temp.replace(final)
        except OSError as exc:
            raise FileTransferError(os_error_message(exc, f"cannot move the received file to {final}")) from None
    except BaseException:
        sink.close()
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    return _result(rx, final, manifest)


def _create_temp(out: Path, name: str) -> tuple[int, Path]:
    """A new hidden file next to the final one (same file system, so the rename is atomic).

    Unlike ``tempfile.mkstemp`` it is created with mode 0666 minus the umask, the mode the
    final file should have.
    """
    for _ in range(TEMP_ATTEMPTS):
        temp = out / f".{name[:64]}.{secrets.token_hex(6)}{PART_SUFFIX}"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), temp
        except FileExistsError:
            continue
        except OSError as exc:
            raise FileTransferError(os_error_message(exc, f"cannot create a file in {out}")) from None
    raise FileTransferError(f"cannot create a temporary file in {out}")


async def _receive_into(
    rx: AsyncReceiver, sink: FileSink, manifest: Manifest, final: Path, progress: Progress | None
) -> Any:
    digest = hashlib.sha256()
    received = 0
    while chunk := await rx.read(CHUNK, at_least=min(CHUNK, manifest.size - received) or 1):
        received += len(chunk)
        if received > manifest.size:
            raise FileTransferError(f"the source sent more than the {manifest.size} bytes its manifest announced")
        digest.update(chunk)
        try:
            sink.write(chunk)
        except OSError as exc:
            raise FileTransferError(os_error_message(exc, f"cannot write {final}")) from None
        if progress is not None:
            progress(received, manifest.size)
    if received != manifest.size:
        raise IntegrityError(f"the stream ended after {received} of {manifest.size} bytes")
    return digest


def _check(manifest: Manifest, digest: Any, final: Path) -> None:
    got = digest.hexdigest()
    if got != manifest.hexdigest:
        raise IntegrityError(
            f"SHA-256 mismatch for {final.name}: the manifest says {manifest.hexdigest[:16]}..., "
            f"the received bytes hash to {got[:16]}...; the file was not saved"
        )


def _result(rx: AsyncReceiver, final: Path, manifest: Manifest) -> ReceivedFile:
    now = asyncio.get_running_loop().time()
    connected = rx.connected_at if rx.connected_at is not None else now
    first = rx.first_data_at if rx.first_data_at is not None else connected
    return ReceivedFile(final, manifest.size, manifest.hexdigest, now - connected, now - first, rx.stats.repairs)


# --- a receiver that fails over to other servers --------------------------------------------------


class Server(NamedTuple):
    """A server the stream can be taken from (the root source, or a relay) and the group it sends to."""

    address: Address
    group: Address

    def __str__(self) -> str:
        return f"{format_address(self.address)}@{format_address(self.group)}"


def parse_server(text: str, default_group: Address) -> Server:
    """``HOST:PORT@GROUP:PORT``, or ``HOST:PORT`` for a server on ``default_group``."""
    address, at, group = text.strip().partition("@")
    return Server(parse_address(address, "server"), parse_address(group, "group") if at else default_group)


FailoverNotice = Callable[[Server, NetworkError], None]
"""Called with the server given up and why, before the next one is tried."""
