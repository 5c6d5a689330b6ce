"""The README's first example, runnable as is: one source and three receivers on this host.

The source binds 127.0.0.1 (a source bound to 0.0.0.0 on the group port would take that
port from receivers on the same host), multicasts 1 MiB to a source-specific group, and
waits until every receiver completed. The receivers run in this process too. Everything is
authenticated and encrypted: the source proves this user's key (created on first use, or
by ``smocast keygen``), and the receivers pin its fingerprint. It exits with 0 when every
receiver got exactly the bytes sent, within a minute in any case::

    python examples/quickstart.py

On two hosts, bind the source to its own address and give receivers that address.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys

import smocast

RECEIVERS = 3
LIMIT = 60.0  # seconds: the example ends by itself even if something is wrong


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


PORT = free_port()
SERVER = ("127.0.0.1", PORT)
GROUP = ("232.1.1.1", PORT)


async def source(data: bytes, ready: asyncio.Event, key: list[str]) -> None:
    async with smocast.open_channel(GROUP, bind=SERVER, min_receivers=RECEIVERS) as ch:
        key.append(ch.fingerprint or "")  # what receivers pin: `smocast key fingerprint` on the source's host
        ready.set()  # the port is bound: receivers may connect
        await ch.wait_started()  # optional: the 3 receivers joined
        await ch.send(data)  # waits for room (backpressure)
    # leaving the block closes the stream and waits until every receiver completed or was dropped
    print("source:", ch.summary().completed, "completed", [r.status for r in ch.records()])


async def receiver(ready: asyncio.Event, key: list[str]) -> bytes:
    await ready.wait()
    async with smocast.connect(SERVER, GROUP, trust=key[0]) as rx:
        return b"".join([chunk async for chunk in rx])


async def main() -> int:
    data = random.Random(1).randbytes(1 << 20)
    ready, key = asyncio.Event(), []
    async with asyncio.timeout(LIMIT):
        _, *received = await asyncio.gather(source(data, ready, key), *(receiver(ready, key) for _ in range(RECEIVERS)))
    for index, got in enumerate(received, 1):
        print(f"receiver {index}: {len(got)} bytes, {'identical' if got == data else 'DIFFERENT'}")
    return 0 if all(got == data for got in received) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
