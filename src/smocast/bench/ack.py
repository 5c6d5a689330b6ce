"""``smocast bench ack``: the source's cost of one ACK, at several group sizes.

Each timed ACK goes through the whole source path: ``decode``, the child's update (SACK,
RTT, congestion window, timers), the master's aggregation (per-segment release counters,
right-edge minimum), and ``datagrams_to_send`` with whatever new data the ACK released.

The receivers ack in rounds: in each round every receiver acknowledges two more segments,
in a shuffled order, so the window advances once per round as it does under the default
``slowest`` policy, and two new segments go out per round once slow start has filled the
capped window. The ACK datagrams are encoded before the clock starts.

As the asyncio runtime does after draining its socket, each batch of ``BATCH`` ACKs goes to
``receive_datagrams`` at once, then ``datagrams_to_send`` runs (``--batch 1`` measures the worst
case of one call per ACK).
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from smocast.core.datagram import Address
from smocast.core.timestamps import timestamp
from smocast.smo.channel import Channel
from smocast.smo.config import ChannelConfig
from smocast.smo.standin import validated_syn
from smocast.wire import Packet, PacketType, encode

GROUP: Address = ("232.1.1.1", 5000)
SEGMENTS_PER_ACK = 2
DT = 1e-6  # simulated seconds between ACKs
BATCH = 16  # ACKs drained from the socket between two calls of datagrams_to_send
WINDOW_SEGMENTS = 100  # the congestion window's cap: after slow start, a steady window-limited flow


def _address(i: int) -> Address:
    return (f"10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}", 40000)


def _channel(receivers: int) -> tuple[Channel, list[tuple[Address, int]]]:
    """A channel with ``receivers`` established children and data waiting to go."""
    config = ChannelConfig(min_receivers=receivers, pacing=False, max_window=WINDOW_SEGMENTS * 1400)
    channel = Channel(GROUP, config, random.Random(1))
    peers = [(_address(i), i + 1) for i in range(receivers)]
    for address, conn in peers:
        validated_syn(channel, Packet(PacketType.SYN, 1, conn, tsval=1), address, 0.0)
    channel.datagrams_to_send(0.0)
    for address, conn in peers:
        channel.receive_packet(Packet(PacketType.ACK, 1, conn, window=1 << 24), address, 0.001)
    channel.write(bytes(64 << 20))
    channel.datagrams_to_send(0.001)
    return channel, peers


def _ack_stream(
    channel: Channel, peers: list[tuple[Address, int]], count: int, rng: random.Random
) -> list[tuple[bytes, Address]]:
    mss = channel.config.mss
    stream: list[tuple[bytes, Address]] = []
    point = 0
    while len(stream) < count:
        point += SEGMENTS_PER_ACK * mss
        order = list(peers)
        rng.shuffle(order)
        for address, conn in order:
            packet = Packet(PacketType.ACK, 1, conn, ack=point, window=1 << 24, tsecr=timestamp(0.0005))
            stream.append((encode(packet), address))
    return stream[:count]


def measure(receivers: int, acks: int, seed: int = 1, batch: int = BATCH) -> float:
    """Seconds per ACK, over ``acks`` ACKs at group size ``receivers``."""
    channel, peers = _channel(receivers)
    stream = _ack_stream(channel, peers, acks, random.Random(seed))
    batches = [stream[i : i + batch] for i in range(0, len(stream), batch)]
    receive, send = channel.receive_datagrams, channel.datagrams_to_send
    now = 0.002
    started = time.perf_counter()
    for chunk in batches:
        receive(chunk, now)
        send(now)
        now += DT * batch
    elapsed = time.perf_counter() - started
    if channel.stats.acks_processed < acks:
        raise RuntimeError("the benchmark's ACKs were not all processed")
    return elapsed / acks


def run(sizes: list[int], acks: int, repeat: int, batch: int = BATCH) -> dict[str, Any]:
    results = []
    for n in sizes:
        samples = [measure(n, acks, seed, batch) for seed in range(1, repeat + 1)]
        per_ack = statistics.median(samples)
        results.append(
            {
                "receivers": n,
                "acks_per_s": round(1 / per_ack),
                "ns_per_ack": round(per_ack * 1e9),
                "runs_ns_per_ack": [round(s * 1e9) for s in samples],
            }
        )
    base = float(results[0]["ns_per_ack"])  # type: ignore[arg-type]
    for row in results:
        row["ratio_to_smallest"] = round(float(row["ns_per_ack"]) / base, 3)  # type: ignore[arg-type]
    return {"benchmark": "ack", "acks_per_run": acks, "repeat": repeat, "batch": batch, "results": results}
