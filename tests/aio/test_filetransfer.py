"""The file-transfer application: manifest, safe names, verification, and nothing partial left behind."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import threading
import time
from pathlib import Path

import pytest
from tests.aio.netutil import Loopback, loopback, payload, run

import smocast
import smocast.sync
from smocast.aio import AsyncChannel
from smocast.aio.sockets import port_in_use
from smocast.apps import filetransfer
from smocast.apps.filetransfer import (
    FileSink,
    FileTransferError,
    ReceivedFile,
    SendReport,
    receive_file,
    send_file,
)
from smocast.apps.manifest import (
    HEADER_SIZE,
    Manifest,
    ManifestError,
    body_length,
    decode_body,
    describe_file,
    safe_name,
)

# --- the manifest (no network) ---------------------------------------------------------------


def test_a_manifest_round_trips() -> None:
    manifest = Manifest("report 2024.pdf", 123_456_789, hashlib.sha256(b"x").digest())
    data = manifest.encode()
    assert decode_body(data[HEADER_SIZE : HEADER_SIZE + body_length(data[:HEADER_SIZE])]) == manifest


@pytest.mark.parametrize(
    "header, message",
    [
        (b"XXXX\x01\x00\x00\x00\x30", "does not start with a smocast file manifest"),
        (b"SMOF\x02\x00\x00\x00\x30", "version 2 is not supported"),
        (b"SMOF\x01\x00\x01\x00\x00", "manifest body of 65536 bytes"),
    ],
)
def test_a_bad_manifest_header_is_refused(header: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        body_length(header)


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        ".",
        "..",
        "../evil",
        "../../etc/passwd",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "C:evil",
        "nul\x00byte",
        "line\nbreak",
        "bell\x07",
        "rtl\u202etxt",
        "x" * 256,
    ],
)
def test_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(ManifestError, match="refusing"):
        safe_name(name)


@pytest.mark.parametrize("name", ["data.bin", "report 2024.pdf", ".hidden", "ünïcødé.txt", "a..b", "x" * 200])
def test_plain_names_are_kept(name: str) -> None:
    assert safe_name(name) == name


def test_describe_file_hashes_in_chunks(tmp_path: Path) -> None:
    data = payload(3 * filetransfer.CHUNK + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    manifest = describe_file(path)
    assert (manifest.name, manifest.size, manifest.sha256) == ("big.bin", len(data), hashlib.sha256(data).digest())


# --- over loopback ---------------------------------------------------------------------------


async def exchange(net: Loopback, out: Path, *pieces: bytes) -> tuple[BaseException | None, AsyncChannel]:
    """A source sends ``pieces`` (a raw stream, so manifests can be forged) to one file receiver.

    Returns what the receiver raised (None if it succeeded) and the closed channel.
    """
    async with smocast.open_channel(net.group, net.server) as ch:
        task = asyncio.create_task(fetch(net, out))
        for piece in pieces:
            await ch.send(piece)
        ch.close()  # the end of the stream, so the receiver can check the size and hash
        try:
            await task
        except Exception as exc:  # the test inspects it
            return exc, ch
    return None, ch


async def fetch(net: Loopback, out: Path) -> ReceivedFile:
    async with smocast.connect(net.server, net.group, linger=0.1) as rx:
        return await receive_file(rx, out)


def forged(name: str, data: bytes, digest: bytes | None = None) -> bytes:
    return Manifest(name, len(data), digest if digest is not None else hashlib.sha256(data).digest()).encode()


@pytest.mark.network
def test_a_file_is_received_verified_and_moved_into_place(tmp_path: Path) -> None:
    net = loopback()
    source = tmp_path / "source.bin"
    data = payload(1_500_000, seed=21)
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()

    async def main() -> tuple[ReceivedFile, Manifest]:
        task = asyncio.create_task(fetch(net, out))
        async with smocast.open_channel(net.group, net.server) as ch:
            manifest = await send_file(ch, source)
        return await task, manifest

    received, manifest = run(main())
    assert received.path == out / "source.bin"
    assert received.path.read_bytes() == data
    assert received.sha256 == manifest.hexdigest == hashlib.sha256(data).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == ["source.bin"]
    assert received.as_json()["verified"] is True and received.goodput_bps > 0


@pytest.mark.network
def test_a_hash_mismatch_keeps_nothing(tmp_path: Path) -> None:
    net = loopback()
    data = payload(200_000, seed=22)

    error, channel = run(exchange(net, tmp_path, forged("f.bin", data, b"\x00" * 32), data))
    assert isinstance(error, FileTransferError) and "SHA-256 mismatch" in str(error)
    assert list(tmp_path.iterdir()) == []
    # the stream arrived whole, but the application refused its content and told the source why
    (record,) = channel.summary().records
    assert record.status == "left" and (record.reason or "").startswith("verify-failed: SHA-256 mismatch")


@pytest.mark.network
@pytest.mark.parametrize("name", ["../escaped.bin", "<absolute>", "sub/dir.bin"])
def test_a_path_in_the_manifest_is_refused(tmp_path: Path, name: str) -> None:
    net = loopback()
    out = tmp_path / "out"
    out.mkdir()
    name = name.replace("<absolute>", str(tmp_path / "absolute.bin"))
    data = b"payload" * 100

    error, _ = run(exchange(net, out, forged(name, data), data))
    assert isinstance(error, ManifestError) and "refusing" in str(error)
    assert list(out.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing escaped next to it either


@pytest.mark.network
def test_a_full_disk_removes_the_temporary_file_and_leaves_the_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = loopback()
    data = payload(1 << 20, seed=23)
    real_write = FileSink.write
    calls = []

    def write(self: FileSink, chunk: bytes) -> None:
        calls.append(len(chunk))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, chunk)

    monkeypatch.setattr(FileSink, "write", write)

    error, channel = run(exchange(net, tmp_path, forged("big.bin", data), data))
    assert isinstance(error, FileTransferError) and str(error).endswith("big.bin: disk full")
    assert list(tmp_path.iterdir()) == []  # neither the final name nor the temporary file
    assert [r.status for r in channel.summary().records] == ["left"]


@pytest.mark.network
def test_cancelling_a_receiver_removes_its_temporary_file(tmp_path: Path) -> None:
    net = loopback()
    data = payload(2 << 20, seed=24)

    async def main() -> None:
        async with smocast.open_channel(net.group, net.server) as ch:
            task = asyncio.create_task(fetch(net, tmp_path))
            await ch.send(forged("c.bin", data))
            await ch.send(data[: 1 << 20])
            while not any(p.name.endswith(filetransfer.PART_SUFFIX) for p in tmp_path.iterdir()):
                await asyncio.sleep(0.005)
            task.cancel()  # what Ctrl-C does to `smocast recv`
            with pytest.raises(asyncio.CancelledError):
                await task
            await ch.send(data[1 << 20 :])

    run(main())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.network
def test_the_blocking_wrappers_send_and_receive_a_file(tmp_path: Path) -> None:
    net = loopback()
    source = tmp_path / "sync.bin"
    source.write_bytes(payload(300_000, seed=25))
    out = tmp_path / "out"
    out.mkdir()
    reports: list[SendReport] = []
    sender = threading.Thread(
        target=lambda: reports.append(
            smocast.sync.send_file(source, net.group_text, bind=net.server_text, min_receivers=1, handshake_timeout=5)
        )
    )
    sender.start()
    deadline = time.monotonic() + 10
    while not port_in_use(net.server) and time.monotonic() < deadline:
        time.sleep(0.01)  # a receiver started before the source is bound would be refused
    received = smocast.sync.receive(net.server_text, net.group_text, out, timeout=20, linger=0.1)
    sender.join(30)
    assert received.path.read_bytes() == source.read_bytes()
    summary = reports[0].as_json()
    assert (summary["receivers"], summary["completed"], summary["bytes"]) == (1, 1, 300_000)
