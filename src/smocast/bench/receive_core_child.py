"""The child program of ``smocast bench receive-core``: one tree's receiver core on a replayed stream.

Run as a script with ``PYTHONPATH`` naming the tree's ``src``; it uses only the receiver's
stable interface (``Receiver``, ``ReceiverConfig``, ``encode_data``), so an older tree runs it
too (one without ``Receiver.receive_datagrams`` gets each datagram through ``receive_datagram``).
Arguments: loss, datagrams, batch, batches until a repair, seed, repeat, calls (0 or 1), and
optionally allocations (0 or 1). Prints one JSON object: microseconds per delivered datagram (the
median of ``repeat`` runs) and, with ``calls``, Python function calls per datagram (one more run
under :mod:`cProfile`). With allocations, it times nothing: it replays once between ``enable``
and ``disable`` written to the ``perf stat --control`` fifo named in ``SMOCAST_PERF_CONTROL``
(each acknowledged on ``SMOCAST_PERF_ACK``), so perf counts the replay's allocations alone, and
prints the datagrams replayed (:mod:`smocast.bench.allocations` runs it so).

The stream: ``datagrams`` DATA segments of 1400 bytes, ``loss`` of them (seeded) missing and
repaired by a REPAIR ``batches until a repair`` batches later, read in batches of ``batch`` as
the runtime reads them (``receive_datagrams``), each batch followed by the pump's steps
(``datagrams_to_send``, the events taken and consumed). Every byte is checked delivered.
"""

from __future__ import annotations

import cProfile
import inspect
import json
import os
import pstats
import random
import statistics
import sys
import time
from typing import Any

from smocast.smo.config import ReceiverConfig
from smocast.smo.receiver import Receiver
from smocast.wire import Packet, PacketType, encode_data

SERVER = ("192.0.2.1", 5000)
MSS = 1400


def _connected() -> Receiver:
    rx = Receiver(SERVER, ReceiverConfig(receive_buffer=64 << 20), random.Random(3))
    rx.connect(0.0)
    rx.datagrams_to_send(0.0)
    rx.receive_packet(Packet(PacketType.SYN_ACK, 1, rx.connection, seq=0, tsval=7), SERVER, 0.01)
    rx.datagrams_to_send(0.01)
    while rx.next_event() is not None:
        pass
    return rx


_NAMES_CONNECTION = "connection" in inspect.signature(encode_data).parameters
"""Whether this tree's data header carries a connection id (before wire version 3 it did)."""


def _segment(kind: PacketType, index: int, connection: int) -> bytes:
    """A DATA or REPAIR segment; ``connection`` goes on the wire only where the tree's format has one."""
    named = {"connection": connection} if _NAMES_CONNECTION else {}
    data, _ = encode_data(
        kind, channel=1, seq=index * MSS, tsval=index, flags=0, ack_every=8, payload=bytes(MSS), **named
    )
    return data


def _batches(rx: Receiver, loss: float, count: int, batch: int, delay: int, seed: int) -> list[list[bytes]]:
    rng = random.Random(seed)
    lost = {i for i in range(count) if rng.random() < loss}
    stream = [_segment(PacketType.DATA, i, 0) for i in range(count) if i not in lost]
    repairs: dict[int, list[bytes]] = {}
    for i in sorted(lost):
        repairs.setdefault(i // batch + delay, []).append(_segment(PacketType.REPAIR, i, rx.connection))
    out = [stream[k : k + batch] + repairs.pop(n, []) for n, k in enumerate(range(0, len(stream), batch))]
    return out + [repairs[n] for n in sorted(repairs)]


def _replay(rx: Receiver, batches: list[list[bytes]]) -> int:
    """Deliver ``batches``; a tree from before the batch entry gets each datagram on its own (inline,
    so the calls counted are the receiver's)."""
    delivered, now = 0, 0.02
    batched = hasattr(rx, "receive_datagrams")
    for datagrams in batches:
        if batched:
            rx.receive_datagrams([(data, SERVER) for data in datagrams], now, via_group=True)
        else:
            for datagram in datagrams:
                rx.receive_datagram(datagram, SERVER, now, via_group=True)
        rx.datagrams_to_send(now)
        while (event := rx.next_event()) is not None:
            data = getattr(event, "data", None)
            if data is not None:
                rx.consumed(len(data))
                delivered += len(data)
        now += 0.0001
    return delivered


def measure(loss: float, count: int, batch: int, delay: int, seed: int, repeat: int, calls: bool) -> dict[str, Any]:
    times = []
    for _ in range(repeat):
        rx = _connected()
        batches = _batches(rx, loss, count, batch, delay, seed)
        started = time.perf_counter()
        delivered = _replay(rx, batches)
        times.append(time.perf_counter() - started)
        if delivered != count * MSS:
            raise SystemExit(f"delivered {delivered} bytes of {count * MSS}")
    result: dict[str, Any] = {"us_per_datagram": round(statistics.median(times) / count * 1e6, 3)}
    if calls:
        rx = _connected()
        batches = _batches(rx, loss, count, batch, delay, seed)
        profile = cProfile.Profile()
        profile.runcall(_replay, rx, batches)
        result["calls_per_datagram"] = round(pstats.Stats(profile).total_calls / count, 2)  # type: ignore[attr-defined]
    return result


def _perf_command(command: bytes) -> None:
    """Write ``command`` to perf's control fifo and wait for its acknowledgement."""
    control = os.open(os.environ["SMOCAST_PERF_CONTROL"], os.O_WRONLY)
    ack = os.open(os.environ["SMOCAST_PERF_ACK"], os.O_RDONLY)
    try:
        os.write(control, command)
        os.read(ack, 64)
    finally:
        os.close(control)
        os.close(ack)


def count_allocations(loss: float, count: int, batch: int, delay: int, seed: int) -> dict[str, Any]:
    """One replay between ``enable`` and ``disable`` sent to ``perf stat`` (see the module's note)."""
    rx = _connected()
    batches = _batches(rx, loss, count, batch, delay, seed)
    _perf_command(b"enable\n")
    delivered = _replay(rx, batches)
    _perf_command(b"disable\n")
    if delivered != count * MSS:
        raise SystemExit(f"delivered {delivered} bytes of {count * MSS}")
    return {"datagrams": count}


if __name__ == "__main__":
    loss_, count_, batch_, delay_, seed_, repeat_, calls_ = sys.argv[1:8]
    numbers = (int(count_), int(batch_), int(delay_), int(seed_))
    if sys.argv[8:9] == ["1"]:
        print(json.dumps(count_allocations(float(loss_), *numbers)))
    else:
        print(json.dumps(measure(float(loss_), *numbers, int(repeat_), calls_ == "1")))
