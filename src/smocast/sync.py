"""Blocking wrappers for scripts that do not use asyncio: send one file, receive one file.

Each call runs its own event loop (``asyncio.run``), so do not call them from a coroutine::

    report = smocast.sync.send_file("image.iso", group="232.1.1.1:5000", min_receivers=3)
    received = smocast.sync.receive(server="source.example:5000", group="232.1.1.1:5000", out_dir="downloads")
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Unpack

from smocast.aio.api import connect, open_channel
from smocast.aio.options import AddressLike, ConnectOptions, OpenOptions
from smocast.apps import filetransfer
from smocast.apps.filetransfer import ReceivedFile, SendReport


def send_file(
    path: Path | str,
    group: AddressLike,
    *,
    bind: AddressLike | None = None,
    name: str | None = None,
    **options: Unpack[OpenOptions],
) -> SendReport:
    """Send ``path`` on a new channel and wait until every receiver completed or was dropped.

    ``options`` are those of :func:`smocast.open_channel` (``min_receivers``, policies...).
    """
    return asyncio.run(_send(Path(path), group, bind, name, options))


async def _send(
    path: Path, group: AddressLike, bind: AddressLike | None, name: str | None, options: OpenOptions
) -> SendReport:
    manifest = await filetransfer.describe(path, name)
    async with open_channel(group, bind, **options) as channel:
        await filetransfer.send_file(channel, path, manifest=manifest)
    return SendReport(manifest, channel.summary())


def receive(
    server: AddressLike, group: AddressLike, out_dir: Path | str = ".", **options: Unpack[ConnectOptions]
) -> ReceivedFile:
    """Connect, receive one file into ``out_dir`` and verify it; return where it is.

    ``options`` are those of :func:`smocast.connect` (``timeout``, ``source``, ``interface``...).
    """
    return asyncio.run(_receive(server, group, Path(out_dir), options))


async def _receive(server: AddressLike, group: AddressLike, out_dir: Path, options: ConnectOptions) -> ReceivedFile:
    async with connect(server, group, **options) as rx:
        return await filetransfer.receive_file(rx, out_dir)
