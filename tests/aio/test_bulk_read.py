"""A bulk reader (``read(n, at_least=...)``) wakes once per chunk, not once per read of the socket.

Each wake-up of a receiving process costs it more than the datagrams it reads (on a busy host
its caches are cold): ``smocast recv`` waits for whole chunks of what the manifest says is to
come. These tests count the reader's waits over loopback, and check the edges: the end of the
stream, a window smaller than the chunk, and an error while the reader waits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.aio.netutil import loopback, payload, run

import smocast
from smocast.aio import AsyncReceiver
from smocast.aio.errors import ResetError
from smocast.aio.inbox import Inbox

pytestmark = pytest.mark.network

CHUNK = 1 << 18


def _count_waits(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record each wait of a reader: the bytes it wanted, and those buffered when it woke."""
    waits: list[tuple[int, int]] = []
    original = Inbox.wait

    async def counted(self: Inbox, state: Any, want: int = 1) -> None:
        await original(self, state, want)
        waits.append((want, self.buffered))

    monkeypatch.setattr(Inbox, "wait", counted)
    return waits


async def _bulk(rx: AsyncReceiver, size: int) -> bytes:
    data = bytearray()
    while chunk := await rx.read(CHUNK, at_least=min(CHUNK, size - len(data)) or 1):
        data += chunk
    return bytes(data)


def _transfer(data: bytes, reader: Any, **options: Any) -> bytes:
    net = loopback()

    async def main() -> bytes:
        async with smocast.open_channel(net.group, net.server) as ch:

            async def receive() -> bytes:
                async with smocast.connect(net.server, net.group, linger=0.1, **options) as rx:
                    got: bytes = await reader(rx, len(data))
                    return got

            task = asyncio.create_task(receive())
            await ch.send(data)
        return await task

    return run(main())


def test_a_bulk_reader_wakes_once_per_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    data = payload(2 << 20, seed=21)
    waits = _count_waits(monkeypatch)
    assert _transfer(data, _bulk) == data
    short = [(want, buffered) for want, buffered in waits if buffered < want]
    # 8 chunks; woken short of a chunk only by what is not data (the connection, the end)
    assert len(waits) <= 8 + 6 and len(short) <= 3, waits


def test_a_bulk_reader_gets_the_rest_at_the_end_of_the_stream() -> None:
    data = payload(100_000, seed=22)

    async def greedy(rx: AsyncReceiver, size: int) -> bytes:
        first = await rx.read(1 << 20, at_least=1 << 20)  # more than will ever come
        assert await rx.read(1 << 20, at_least=1 << 20) == b""
        return first

    assert _transfer(data, greedy) == data


def test_a_bulk_reader_never_waits_for_more_than_a_quarter_of_its_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unread bytes close the advertised window: waiting for a whole 256 KiB chunk with a 64 KiB
    buffer would stall the source for good."""
    data = payload(1 << 20, seed=23)
    waits = _count_waits(monkeypatch)
    assert _transfer(data, _bulk, receive_buffer=64 << 10) == data
    assert waits and max(want for want, _ in waits) == 16 << 10


def test_an_error_wakes_a_bulk_reader_at_once_after_the_bytes_before_it() -> None:
    net = loopback()
    head = payload(10_000, seed=24)

    async def main() -> tuple[bytes, BaseException | None]:
        ch = await smocast.open_channel(net.group, net.server, min_receivers=1)
        async with smocast.connect(net.server, net.group, linger=0.1) as rx:
            await ch.send(head)
            while rx.received < len(head):
                await asyncio.sleep(0.01)
            reading = asyncio.create_task(rx.read(1 << 20, at_least=1 << 20))
            await asyncio.sleep(0.05)
            assert not reading.done()  # it waits for more
            ch.abort("gone")
            got = await asyncio.wait_for(reading, 5)
            try:
                await rx.read(1 << 20, at_least=1 << 20)
            except ResetError as exc:
                return got, exc
            return got, None

    got, error = run(main())
    assert got == head and isinstance(error, ResetError)
