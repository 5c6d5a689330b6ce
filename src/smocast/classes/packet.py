"""The wire format shared by the six protocol classes: one small fixed header and a payload.

Layout, big-endian, 28-byte header::

    0  u8   magic (0xC5)        1  u8   version (1)       2  u8  kind        3  u8  flags
    4  u32  node                8  u32  seq              12  u32 round      16  u32 aux
    20 f64  stamp
    28 payload (the rest of the datagram)

``node`` is the sender's node number (0 is the source, receivers are 1..R). What ``seq``,
``round``, ``aux`` and ``stamp`` mean depends on the kind; see :class:`Kind`. Every malformed
datagram raises the one :class:`PacketError`; :func:`decode` never raises anything else.
"""

from __future__ import annotations

import math
import struct
from enum import IntEnum
from typing import NamedTuple

from smocast.core.errors import LocalProtocolError, RemoteProtocolError

MAGIC = 0xC5
VERSION = 1
FLAG_FIN = 0x01
"""DATA: this is the last packet of the stream. SESSION: the stream ends at ``seq``."""
FLAG_REPAIR = 0x02
"""DATA: a retransmission (informational; ``round`` > 1 says the same)."""
KNOWN_FLAGS = FLAG_FIN | FLAG_REPAIR

_HEADER = struct.Struct("!BBBBIIIId")
HEADER_SIZE = _HEADER.size
_RTT = struct.Struct("!f")
RTT_SIZE = _RTT.size


class Kind(IntEnum):
    """What a packet is.

    DATA     an original (round 1) or a repair (round k: the k-th transmission by its sender).
    ACK      a positive ACK of one copy of ``seq`` (A), or a local ACK to the parent (H1, with
             ``aux`` the aggregate: every packet below ``aux`` is held by the whole subtree).
    NAK      "I missed transmission ``round`` of ``seq``" (N1, N2, H2, R).
    TOKEN    ring: the token site of ``seq`` acknowledges it and passes the token.
    SESSION  session message, heartbeat or poll: ``seq`` is the number of packets sent so far,
             ``stamp`` the sender's clock; the payload is an optional table of round-trip
             times (float32 seconds), one per member, by member number.
    REPLY    the answer to a SESSION or poll: ``stamp`` echoes it, ``aux`` is the aggregate (H2).
    """

    DATA = 1
    ACK = 2
    NAK = 3
    TOKEN = 4
    SESSION = 5
    REPLY = 6


_KINDS = {int(k): k for k in Kind}


class PacketError(RemoteProtocolError):
    """The bytes are not a valid protocol-class packet; the message says what is wrong."""


class Packet(NamedTuple):
    """One decoded packet (a NamedTuple: it is built once per packet on the hot path)."""

    kind: Kind
    node: int = 0
    seq: int = 0
    round: int = 0
    aux: int = 0
    stamp: float = 0.0
    flags: int = 0
    payload: bytes = b""

    @property
    def is_data(self) -> bool:
        """True for DATA: the simulator applies the data loss rate, not the control one."""
        return self.kind is Kind.DATA


def encode(packet: Packet) -> bytes:
    """Serialise ``packet``; raise LocalProtocolError if a field does not fit the format."""
    if packet.flags & ~KNOWN_FLAGS:
        raise LocalProtocolError(f"unknown flags {packet.flags:#x}")
    try:
        header = _HEADER.pack(
            MAGIC, VERSION, packet.kind, packet.flags, packet.node, packet.seq, packet.round, packet.aux, packet.stamp
        )
    except struct.error as exc:
        raise LocalProtocolError(f"packet field out of range: {exc}") from None
    return header + packet.payload


def decode(data: bytes) -> Packet:
    """Parse one datagram; raise :class:`PacketError` (and nothing else) if it is malformed."""
    if len(data) < HEADER_SIZE:
        raise PacketError(f"datagram of {len(data)} bytes is shorter than the {HEADER_SIZE}-byte header")
    magic, version, kind, flags, node, seq, rnd, aux, stamp = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise PacketError(f"bad magic {magic:#04x}")
    if version != VERSION:
        raise PacketError(f"unsupported version {version}")
    known = _KINDS.get(kind)
    if known is None:
        raise PacketError(f"unknown packet kind {kind}")
    if flags & ~KNOWN_FLAGS:
        raise PacketError(f"unknown flags {flags:#x}")
    if not math.isfinite(stamp):
        raise PacketError("stamp is not a finite number")
    return Packet(known, node, seq, rnd, aux, stamp, flags, bytes(data[HEADER_SIZE:]))


def encode_rtt_table(rtts: list[float]) -> bytes:
    """A SESSION payload: one float32 round-trip time per member (0 where unknown)."""
    return struct.pack(f"!{len(rtts)}f", *rtts)


def rtt_from_table(payload: bytes, index: int) -> float | None:
    """Member ``index``'s round-trip time from a SESSION payload, or None if absent or unknown."""
    offset = index * _RTT.size
    if index < 0 or offset + _RTT.size > len(payload):
        return None
    (value,) = _RTT.unpack_from(payload, offset)
    return value if math.isfinite(value) and value > 0.0 else None
