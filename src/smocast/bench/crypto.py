"""``smocast bench crypto``: what the secure mode costs per packet, per block and per byte.

Measured in one process as CPU time (``time.process_time``: other work on a shared machine
slows it less than it slows wall time), each figure the median of ``repeat`` runs:

* the primitives: ChaCha20-Poly1305 seal and open (AES-256-GCM beside it, for comparison),
  SHA-256 (``hashlib``, and ``cryptography``'s hash object beside it), at several packet
  sizes, with the per-byte cost as the slope between the smallest and the largest size;
  Ed25519 sign and verify of a block; one X25519 agreement (a join's cost);
* the layer itself (:mod:`smocast.secure.source` and ``receiver``) around a stub core: the
  source's cost per group packet and the receiver's, for each block size, with the block's
  signature and verification spread over its packets;
* for a stream at each of several rates, how long the source waits to fill each block size
  (the latency the block adds, before ``max_delay`` caps it); and for each preset block policy
  (live, file) the wait it adds, the blocks signed per second, and the fraction of one core
  the source and each receiver spend on the layer at that rate.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from smocast.bench.machine import busy_fraction, machine_ticks
from smocast.core.datagram import Address, Datagram, multicast
from smocast.secure.blocks import packet_hash
from smocast.secure.envelope import OVERHEAD
from smocast.secure.exchange_source import Accepted
from smocast.secure.identity import Identity
from smocast.secure.keyexchange import ReceiverHandshake, SessionKeys, Trust
from smocast.secure.primitives import sha256
from smocast.secure.receiver import ProtectedReceiver
from smocast.secure.signing import FILE_BLOCKS, LIVE_BLOCKS, BlockPolicy
from smocast.secure.source import ProtectedSource

GROUP: Address = ("232.1.1.1", 5000)
SOURCE: Address = ("10.0.0.1", 5000)
SIZES = (64, 512, 1400)
PACKET = 1400
STREAM_RATES_BPS = (1e6, 10e6, 100e6)


def _median_us(action: Callable[[], object], count: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the time of one ``action``, in microseconds."""
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(count):
            action()
        runs.append((time.process_time() - started) / count * 1e6)
    return round(statistics.median(runs), 3)


def _slope_ns(costs: dict[int, float]) -> float:
    """Nanoseconds per byte between the smallest and the largest size."""
    small, large = min(costs), max(costs)
    return round((costs[large] - costs[small]) / (large - small) * 1000, 3)


def primitives(repeat: int, count: int) -> dict[str, Any]:
    rng = random.Random(1)
    key, nonce, aad = rng.randbytes(32), rng.randbytes(12), rng.randbytes(18)
    chacha, gcm = ChaCha20Poly1305(key), AESGCM(key)
    table: dict[str, dict[int, float]] = {name: {} for name in ("chacha_seal", "chacha_open", "gcm_seal", "gcm_open")}
    table |= {"sha256_hashlib": {}, "sha256_cryptography": {}}
    for size in SIZES:
        data = rng.randbytes(size)
        sealed, sealed_gcm = chacha.encrypt(nonce, data, aad), gcm.encrypt(nonce, data, aad)
        table["chacha_seal"][size] = _median_us(partial(chacha.encrypt, nonce, data, aad), count, repeat)
        table["chacha_open"][size] = _median_us(partial(chacha.decrypt, nonce, sealed, aad), count, repeat)
        table["gcm_seal"][size] = _median_us(partial(gcm.encrypt, nonce, data, aad), count, repeat)
        table["gcm_open"][size] = _median_us(partial(gcm.decrypt, nonce, sealed_gcm, aad), count, repeat)
        table["sha256_hashlib"][size] = _median_us(partial(sha256, data), count, repeat)
        table["sha256_cryptography"][size] = _median_us(partial(_hash_object, data), count, repeat)
    return {
        "us_per_packet": {name: {str(k): v for k, v in costs.items()} for name, costs in table.items()},
        "ns_per_byte": {name: _slope_ns(costs) for name, costs in table.items()},
        **signatures(repeat, max(10, count // 20)),
    }


def _hash_object(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def signatures(repeat: int, count: int) -> dict[str, float]:
    rng = random.Random(2)
    identity = Identity.generate(rng.randbytes)
    block = rng.randbytes(64 * 16 + 80)  # the signed part of a 64-packet block
    signature = identity.sign(block)
    private = X25519PrivateKey.from_private_bytes(rng.randbytes(32))
    peer = X25519PrivateKey.from_private_bytes(rng.randbytes(32)).public_key()
    return {
        "ed25519_sign_us": _median_us(lambda: identity.sign(block), count, repeat),
        "ed25519_verify_us": _median_us(lambda: identity.public.verify(signature, block), count, repeat),
        "x25519_agreement_us": _median_us(lambda: private.exchange(peer), count, repeat),
    }


class _StubCore:
    """A core that multicasts ``per_turn`` prepared packets per turn and ignores what it receives."""

    def __init__(self, packets: list[bytes], per_turn: int) -> None:
        self._packets, self._per_turn, self._next = packets, per_turn, 0
        self.received = 0

    def datagrams_to_send(self, now: float) -> list[Datagram[bytes]]:
        start = self._next
        self._next = (start + self._per_turn) % len(self._packets)
        return [multicast(p, p, GROUP) for p in self._packets[start : start + self._per_turn]]

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        self.received += 1

    def receive_packet(self, packet: bytes, source: Address, now: float) -> None:
        self.received += 1

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> None:
        return None

    def next_event(self) -> None:
        return None


def _session(identity: Identity, source: ProtectedSource[None], rng: random.Random) -> SessionKeys:
    handshake = ReceiverHandshake(rng.randbytes, Trust(frozenset({identity.public.digest})))
    accepted = source.accept(("10.0.0.2", 6000), handshake.hello(b"bench"), b"bench")
    assert isinstance(accepted, Accepted)
    return handshake.finish(accepted.reply)


def layer(block_sizes: list[int], repeat: int, packets: int) -> list[dict[str, Any]]:
    """The layer's cost per group packet at the source and at a receiver, for each block size."""
    rng = random.Random(3)
    identity = Identity.generate(rng.randbytes)
    payloads = [rng.randbytes(PACKET - OVERHEAD) for _ in range(256)]
    rows = []
    for size in block_sizes:
        turns = max(1, packets // size)
        source_runs, receiver_runs = [], []
        for _ in range(repeat):
            source: ProtectedSource[None] = ProtectedSource(
                _StubCore(payloads, size), identity, rng.randbytes, blocks=BlockPolicy(size, 0.0)
            )
            keys = _session(identity, source, rng)
            started = time.process_time()
            sent = [d.data for _ in range(turns) for d in source.datagrams_to_send(0.0)]
            source_runs.append((time.process_time() - started) / (turns * size) * 1e6)
            core = _StubCore(payloads, 0)
            receiver: ProtectedReceiver[None] = ProtectedReceiver(core, SOURCE)
            receiver.install(keys)
            started = time.process_time()
            for data in sent:
                receiver.receive_datagram(data, SOURCE, 0.0)
            receiver_runs.append((time.process_time() - started) / (turns * size) * 1e6)
            assert core.received == turns * size, "every packet must verify"
        rows.append(
            {
                "block_packets": size,
                "source_us_per_packet": round(statistics.median(source_runs), 3),
                "receiver_us_per_packet": round(statistics.median(receiver_runs), 3),
                "fill_ms": {
                    f"{rate / 1e6:g}mbit": round(size * PACKET * 8 / rate * 1000, 3) for rate in STREAM_RATES_BPS
                },
            }
        )
    return rows


def hash_in_layer_us(repeat: int, count: int) -> float:
    """One block entry's hash (salt, header, 1400-byte plaintext), as the layer computes it."""
    rng = random.Random(4)
    salt, head, data = rng.randbytes(16), rng.randbytes(18), rng.randbytes(PACKET - OVERHEAD)
    return _median_us(lambda: packet_hash(salt, head, data), count, repeat)


POLICIES = {"live": LIVE_BLOCKS, "file": FILE_BLOCKS, "64 packets, no wait": BlockPolicy(64, 0.0)}


def _blocks_per_second(policy: BlockPolicy, packets: float) -> float:
    """Blocks a stream of ``packets`` a second makes; with no wait, one per turn of the pump, which
    for a stream written a packet at a time is one per packet."""
    if policy.max_delay == 0:
        return packets
    return min(packets, max(packets / policy.max_packets, 1 / policy.max_delay))


def policies(rows: list[dict[str, Any]], verify_us: float, sign_us: float) -> list[dict[str, Any]]:
    """What each block policy costs a stream of each rate: the wait it adds, and the CPU it takes.

    Derived from the measured costs: a policy signs ``max(packets/s / max_packets, 1 / max_delay)``
    blocks a second (never more than one per packet); each receiver verifies each of them.
    The per-packet cost without the signature is the largest block's cost less its share of one.
    """
    largest = max(rows, key=lambda r: r["block_packets"])
    base_receiver = largest["receiver_us_per_packet"] - verify_us / largest["block_packets"]
    base_source = largest["source_us_per_packet"] - sign_us / largest["block_packets"]
    table = []
    for name, policy in POLICIES.items():
        for rate in STREAM_RATES_BPS:
            packets = rate / (PACKET * 8)
            fill = policy.max_packets / packets
            wait = min(fill, policy.max_delay) if policy.max_delay > 0 else 0.0
            blocks = _blocks_per_second(policy, packets)
            table.append(
                {
                    "policy": name,
                    "max_packets": policy.max_packets,
                    "max_delay_ms": policy.max_delay * 1000,
                    "stream": f"{rate / 1e6:g}mbit",
                    "added_wait_ms": round(wait * 1000, 2),
                    "blocks_per_s": round(blocks, 1),
                    "receiver_cpu": round((packets * base_receiver + blocks * verify_us) / 1e6, 4),
                    "source_cpu": round((packets * base_source + blocks * sign_us) / 1e6, 4),
                }
            )
    return table


def run(block_sizes: list[int], repeat: int, packets: int) -> dict[str, Any]:
    """Everything above, as one JSON object."""
    before = machine_ticks()
    measured = primitives(repeat, max(200, packets))
    rows = layer(block_sizes, repeat, packets)
    report = {
        "benchmark": "crypto",
        "repeat": repeat,
        "packet_bytes": PACKET,
        "primitives": measured,
        "block_hash_us": hash_in_layer_us(repeat, max(200, packets)),
        "layer": rows,
        "policies": policies(rows, measured["ed25519_verify_us"], measured["ed25519_sign_us"]),
    }
    report["machine_busy"] = busy_fraction(before, machine_ticks())
    return report
