"""The floor of ``smocast bench ack-server``: a bare ``recvfrom_into`` loop on the same kind of traffic.

A socket on 127.0.0.1, read the way a runtime without batching would read it: ``loop.add_reader``
calls a drain loop that reads with ``recvfrom_into`` into one preallocated buffer until the
socket is empty, and does nothing else with the datagrams. A blaster process
(``python -m smocast.bench.ack_bare``) sends 48-byte datagrams (a plain ACK's size) to it from
``senders`` sockets, round-robin, as fast as it can. The CPU of this process per datagram read,
over ``duration`` seconds after a warm-up, is what reading alone costs in Python; the source's
CPU per ACK is compared with it (the issue's goal: at most twice as much).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
import time
from typing import Any

from smocast.aio.batchio import BatchReader

DATAGRAM = bytes(48)
RECEIVE_BUFFER = 4 << 20


class BareLoop:
    """Counts the datagrams a drain loop of ``recvfrom_into`` reads from ``sock``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.count = 0
        self.buffer = bytearray(65536)

    def on_readable(self) -> None:
        recv_into, buffer = self.sock.recvfrom_into, self.buffer
        count = 0
        while True:
            try:
                recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                break
            count += 1
        self.count += count


class BatchLoop(BareLoop):
    """The same drain with ``recvmmsg`` (:class:`~smocast.aio.batchio.BatchReader`)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.reader = BatchReader(sock)

    def on_readable(self) -> None:
        read = self.reader.read
        while True:
            try:
                self.count += len(read())
            except (BlockingIOError, InterruptedError):
                break


async def measure(duration: float, warmup: float, senders: int) -> dict[str, Any]:
    """One run: CPU of this process per datagram read by the bare loop, and the blaster's rate."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    bare = BareLoop(sock)
    loop.add_reader(sock.fileno(), bare.on_readable)
    port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "smocast.bench.ack_bare", "--port", str(port), "--senders", str(senders)]
    blaster = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)
    try:
        await asyncio.sleep(warmup)
        count, cpu, at = bare.count, time.process_time(), time.monotonic()
        await asyncio.sleep(duration)
        count, cpu, seconds = bare.count - count, time.process_time() - cpu, time.monotonic() - at
    finally:
        with contextlib.suppress(ProcessLookupError):
            blaster.kill()
        await blaster.wait()
        loop.remove_reader(sock.fileno())
        sock.close()
    return {
        "datagrams": count,
        "datagrams_per_s": round(count / seconds),
        "cpu_ns_per_datagram": round(cpu / count * 1e9) if count else None,
        "cpu_utilisation": round(cpu / seconds, 3),
    }


def drain_cost(datagrams: int = 20_000, senders: int = 200, rounds: int = 3, *, batched: bool = False) -> int:
    """CPU ns per datagram of the same drain loop when the socket is full: ``datagrams`` are queued
    first (not timed), then drained (timed), ``rounds`` times; the median. Every call reads a
    datagram, none waits, so machine load changes this figure less than the blaster's.
    ``batched``: drain with the runtime's :class:`~smocast.aio.batchio.BatchReader` instead."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    peers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(senders)]
    costs = []
    try:
        for peer in peers:
            peer.connect(sock.getsockname())
        bare = BatchLoop(sock) if batched else BareLoop(sock)
        for _ in range(rounds):
            for i in range(datagrams):
                peers[i % senders].send(DATAGRAM)
            before, cpu = bare.count, time.process_time()
            bare.on_readable()
            cpu = time.process_time() - cpu
            costs.append(cpu / max(1, bare.count - before) * 1e9)
    finally:
        for peer in peers:
            peer.close()
        sock.close()
    return round(sorted(costs)[len(costs) // 2])


def blast(port: int, senders: int) -> None:
    """Send :data:`DATAGRAM` to 127.0.0.1:``port`` from ``senders`` sockets until killed."""
    socks = []
    for _ in range(senders):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("127.0.0.1", port))
        socks.append(sock)
    sends = [s.send for s in socks]
    while True:
        for send in sends:
            with contextlib.suppress(OSError):  # ECONNREFUSED after the reader closed, ENOBUFS
                send(DATAGRAM)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the blaster of smocast bench ack-server's bare loop")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--senders", type=int, default=100)
    args = parser.parse_args(argv)
    blast(args.port, args.senders)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
