"""``smocast bench sendmmsg``: the sender's CPU per datagram, ``sendmmsg`` against one ``sendto`` each.

The runtime sends the datagrams of a pump step that are not one GSO run (unicast repairs to
several receivers) with :class:`~smocast.aio.batchsend.BatchSender`, from
:data:`~smocast.aio.batchsend.SEND_MIN` datagrams on. This measures, on loopback, what one
batch of ``n`` datagrams of ``size`` bytes to 8 receivers (round robin, as repairs to
several receivers are) costs the sending process, per datagram, both ways: the same
datagrams, the same sockets, alternating, ``repeat`` rounds of ``sends`` batches each. The
receivers' buffers are small and never read, so the kernel drops at the receiver and no
reading is measured; the CPU is the sender's own (``time.process_time``), its system time
included (on loopback the kernel delivers to the receiving socket in the sender's context).
"""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from smocast.aio.batchsend import SEND_MIN, BatchSender, batch_sending_available
from smocast.bench.machine import busy_fraction, machine_ticks
from smocast.core.datagram import Datagram

RECEIVERS = 8


def run(counts: Sequence[int], size: int = 1400, repeat: int = 9, sends: int = 500) -> dict[str, Any]:
    """Median CPU ns per datagram, ``sendto`` and ``sendmmsg``, for each batch size in ``counts``."""
    if not batch_sending_available():
        raise OSError("sendmmsg is not available here (not Linux, or no such symbol in the C library)")
    peers = [_receiver() for _ in range(RECEIVERS)]
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.setblocking(False)
    batch = BatchSender(out)
    ticks = machine_ticks()
    try:
        rows = [_measure(out, batch, peers, count, size, repeat, sends) for count in counts]
    finally:
        batch.close()
        for sock in [out, *peers]:
            sock.close()
    return {
        "benchmark": "sendmmsg",
        "size": size,
        "receivers": RECEIVERS,
        "repeat": repeat,
        "sends_per_round": sends,
        "send_min": SEND_MIN,
        "machine_busy": busy_fraction(ticks, machine_ticks()),
        "results": rows,
    }


def _receiver() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # full at once: the kernel drops, nobody reads
    sock.bind(("127.0.0.1", 0))
    return sock


def _measure(
    out: socket.socket, batch: BatchSender, peers: list[socket.socket], count: int, size: int, repeat: int, sends: int
) -> dict[str, Any]:
    datagrams = [
        Datagram(bytes([i % 256]) * size, peers[i % len(peers)].getsockname(), False, None) for i in range(count)
    ]

    def one_each() -> None:
        for datagram in datagrams:
            out.sendto(datagram.data, datagram.destination)

    def batched() -> None:
        index = 0
        while index < count:
            index += batch.send(datagrams, index, count) or _send_one(out, datagrams[index])

    samples: dict[str, list[float]] = {"sendto": [], "sendmmsg": []}
    for _ in range(repeat):
        for name, send in (("sendto", one_each), ("sendmmsg", batched)):
            samples[name].append(_cpu_ns_per_datagram(send, sends, count))
    sendto, sendmmsg = statistics.median(samples["sendto"]), statistics.median(samples["sendmmsg"])
    return {
        "datagrams_per_batch": count,
        "sendto_cpu_ns_per_datagram": round(sendto),
        "sendmmsg_cpu_ns_per_datagram": round(sendmmsg),
        "ratio": round(sendmmsg / sendto, 3) if sendto > 0 else None,
        "sendto_runs": [round(v) for v in samples["sendto"]],
        "sendmmsg_runs": [round(v) for v in samples["sendmmsg"]],
    }


def _send_one(out: socket.socket, datagram: Datagram[Any]) -> int:
    out.sendto(datagram.data, datagram.destination)
    return 1


def _cpu_ns_per_datagram(send: Callable[[], None], sends: int, count: int) -> float:
    started = time.process_time()
    for _ in range(sends):
        send()
    return (time.process_time() - started) / (sends * count) * 1e9
