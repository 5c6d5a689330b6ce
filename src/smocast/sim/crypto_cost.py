"""The secure mode's CPU cost in the simulator: seconds per protected datagram and per signed block.

The simulator runs the real protection layer (the same bytes, seeded keys), but its hosts
take no time to run it. :class:`CryptoCosts` puts the time back: each datagram a host opens
or seals costs what the layer costs there, measured by ``smocast bench crypto``, on the
host's one CPU (:class:`~smocast.sim.host.CpuModel`), so at scale the source's sealing and
each receiver's verification show as queueing, later packets and lower goodput.

The defaults are the medians ``docs/security.md`` reports; :meth:`CryptoCosts.from_bench`
takes them from a ``smocast bench crypto --json`` report of this machine instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smocast.secure.envelope import MARKER, Kind
from smocast.sim.host import CpuModel

US = 1e-6


@dataclass(frozen=True, slots=True)
class CryptoCosts:
    """Seconds of CPU per datagram of each kind (from ``smocast bench crypto``)."""

    seal_group: float = 6.9 * US
    """A group packet at the source: its hash for the block, the AEAD, the layer's Python."""
    open_group: float = 7.9 * US
    """A group packet at a receiver: the AEAD, the hash checked against its block."""
    seal_unicast: float = 4.5 * US
    open_unicast: float = 4.5 * US
    sign_block: float = 39.8 * US
    verify_block: float = 121.8 * US
    source_handshake: float = 110.0 * US
    """An X25519 share and agreement and a signature, for each receiver's hello."""
    receiver_handshake: float = 160.0 * US
    """A signature verified and an X25519 agreement, for the source's reply."""

    @classmethod
    def from_bench(cls, report: dict[str, Any]) -> CryptoCosts:
        """The costs in a ``smocast bench crypto --json`` report (its layer rows and signatures).

        The per-packet costs are the largest block's, less its share of the signature (or
        verification); a unicast datagram costs the AEAD at 64 bytes plus the layer's Python
        around a group packet (its cost less the AEAD and the hash at 1,400 bytes).
        """
        signatures, rows = report["signatures"], report["layer"]
        largest = max(rows, key=lambda row: row["block_packets"])
        sign, verify = signatures["ed25519_sign_us"], signatures["ed25519_verify_us"]
        seal_group = largest["source_us_per_packet"] - sign / largest["block_packets"]
        open_group = largest["receiver_us_per_packet"] - verify / largest["block_packets"]
        per_packet = report["primitives"]["us_per_packet"]
        python = max(0.0, seal_group - per_packet["chacha_seal"]["1400"] - per_packet["sha256_hashlib"]["1400"])
        agreement = signatures["x25519_agreement_us"]
        return cls(
            seal_group=seal_group * US,
            open_group=open_group * US,
            seal_unicast=(per_packet["chacha_seal"]["64"] + python) * US,
            open_unicast=(per_packet["chacha_open"]["64"] + python) * US,
            sign_block=sign * US,
            verify_block=verify * US,
            source_handshake=(2 * agreement + sign) * US,
            receiver_handshake=(agreement + verify) * US,
        )

    def at_source(self, queue: int = 100_000) -> CpuModel:
        """The source's CPU: it opens receivers' datagrams and seals and signs what it sends."""
        return CpuModel(0.0, queue, receive_cost=self._source_receives, send_cost=self._source_sends)

    def at_receiver(self, queue: int = 100_000) -> CpuModel:
        """A receiver's CPU: it opens and verifies what arrives and seals its ACKs."""
        return CpuModel(0.0, queue, receive_cost=self._receiver_receives, send_cost=self._receiver_sends)

    def as_json(self) -> dict[str, float]:
        names = (
            "seal_group",
            "open_group",
            "seal_unicast",
            "open_unicast",
            "sign_block",
            "verify_block",
            "source_handshake",
            "receiver_handshake",
        )
        return {f"{name}_us": round(getattr(self, name) / US, 3) for name in names}

    # --- what each datagram costs ------------------------------------------------------------------

    def _source_receives(self, data: bytes) -> float:
        kind = _kind(data)
        if kind in (Kind.UNICAST, Kind.CONTROL):
            return self.open_unicast
        return self.source_handshake if kind == Kind.HELLO else 0.0

    def _source_sends(self, data: bytes) -> float:
        kind = _kind(data)
        if kind == Kind.GROUP:
            return self.seal_group
        if kind == Kind.BLOCK:
            return self.seal_unicast + self.sign_block
        return self.seal_unicast if kind in _SEALED_UNICAST else 0.0

    def _receiver_receives(self, data: bytes) -> float:
        kind = _kind(data)
        if kind == Kind.GROUP:
            return self.open_group
        if kind == Kind.BLOCK:
            return self.open_unicast + self.verify_block
        if kind == Kind.HANDSHAKE:
            return self.receiver_handshake
        return self.open_unicast if kind in _SEALED_UNICAST else 0.0

    def _receiver_sends(self, data: bytes) -> float:
        return self.seal_unicast if _kind(data) in _SEALED_UNICAST else 0.0


_SEALED_UNICAST = frozenset({Kind.UNICAST, Kind.CONTROL, Kind.HANDSHAKE})


def _kind(data: bytes) -> int:
    """The envelope kind of a protected datagram (0: not one)."""
    return data[1] if len(data) > 1 and data[0] == MARKER else 0
