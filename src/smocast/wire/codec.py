"""Encoding and decoding of :class:`~smocast.wire.packet.Packet`.

DATA and REPAIR travel in the short form of :mod:`smocast.wire.dataform` (a 16-byte header);
every other type in the full form. Layout of the full form, big-endian, 48-byte header (version 3)::

    0  u8   version (2)            1  u8   type           2  u8  flags     3  u8  SACK block count
    4  u32  channel id             8  u64  connection id
    16 u64  seq (ACK: DELAY_SAMPLE)  24 u64  ack
    32 u32  receive window         36 u32  TSval          40 u32 TSecr
    44 u16  payload length         46 u8   ACK frequency  47 u8  reserved (0)
    48 SACK blocks: count x (u64 start, u64 end)
    .. payload (SYN and RETRY: exactly a COOKIE_SIZE-byte cookie)
    .. trailer: the rest of the datagram, present only with FLAG_AUTH

A PROBE's payload is zeros and its ``window`` its whole size; a PROBE_ACK has no payload.
Neither carries flags or SACK blocks (:func:`decode` refuses them otherwise).
"""

from __future__ import annotations

import struct

from smocast.core.errors import LocalProtocolError
from smocast.wire.dataform import check_short, decode_short, encode_data, is_short_form
from smocast.wire.packet import COOKIE_SIZE, FLAG_AUTH, KNOWN_FLAGS, VERSION, DecodeError, Packet, PacketType

_HEADER = struct.Struct("!BBBBIQQQIIIHBx")
# version, type, flags and SACK count as one number; channel, connection, seq, ack, window, tsecr, payload length
PLAIN_ACK = struct.Struct("!IIQQQI4xIH2x")
"""A plain ACK as ``(head, channel, connection, seq, ack, window, tsecr, payload length)``; it is
one when the size is :data:`HEADER_SIZE`, ``head`` is :data:`PLAIN_ACK_HEAD` and the length 0
(:func:`plain_ack_fields` checks all three, for callers that need no batch loop of their own)."""
_SACK = struct.Struct("!QQ")
HEADER_SIZE = _HEADER.size
SACK_BLOCK_SIZE = _SACK.size
MAX_SACK_BLOCKS = 4
MAX_PAYLOAD = 0xFFFF
_TYPES = {int(t): t for t in PacketType}
_ACK = int(PacketType.ACK)
PLAIN_ACK_HEAD = VERSION << 24 | _ACK << 16  # no flags, no SACK blocks
_SHORT_TYPES = frozenset({PacketType.DATA, PacketType.REPAIR})
_COOKIE_TYPES = frozenset({int(PacketType.SYN), int(PacketType.RETRY)})
_PROBE_TYPES = frozenset({int(PacketType.PROBE), int(PacketType.PROBE_ACK)})
DELAY_SAMPLE = 1 << 63
"""In an ACK's ``seq``: the low 32 bits carry a one-way delay sample (see :func:`delay_sample`).

A receiver that knows when the newest data segment it read reached its host (the kernel's
receive timestamp) reports ``DELAY_SAMPLE | (arrival - TSval) mod 2**32``, in microseconds of
its own clock against the source's. The clocks' offset is unknown but constant, so the source
compares samples with their minimum: what rises above it is queueing on the path towards the
receiver, free of the receiver's scheduling and ACK delays (LEDBAT's one-way delay, RFC 6817).
An ACK without a sample has ``seq`` 0, as before.
"""
_DELAY_MASK = 0xFFFFFFFF


def delay_sample(seq: int) -> int | None:
    """The one-way delay sample an ACK's ``seq`` carries (microseconds mod 2**32), or None."""
    return seq & _DELAY_MASK if seq & DELAY_SAMPLE else None


def encode(packet: Packet) -> bytes:
    """Serialise ``packet``; raise LocalProtocolError if a field does not fit the format."""
    if packet.type in _SHORT_TYPES:
        check_short(packet)
        data, _ = encode_data(
            packet.type,
            channel=packet.channel,
            seq=packet.seq,
            tsval=packet.tsval,
            flags=packet.flags,
            ack_every=packet.ack_every,
            payload=packet.payload,
        )
        return data
    sack = packet.sack
    if len(sack) > MAX_SACK_BLOCKS:
        raise LocalProtocolError(f"at most {MAX_SACK_BLOCKS} SACK blocks, got {len(sack)}")
    if packet.trailer and not packet.flags & FLAG_AUTH:
        raise LocalProtocolError("a trailer needs FLAG_AUTH")
    if len(packet.payload) > MAX_PAYLOAD:
        raise LocalProtocolError(f"payload of {len(packet.payload)} bytes exceeds {MAX_PAYLOAD}")
    if packet.type in _COOKIE_TYPES and len(packet.payload) != COOKIE_SIZE:
        raise LocalProtocolError(f"a {packet.type.name} carries a {COOKIE_SIZE}-byte cookie, got {len(packet.payload)}")
    if packet.type in _PROBE_TYPES:
        _check_probe_fields(packet)
    try:
        header = _HEADER.pack(
            VERSION,
            packet.type,
            packet.flags,
            len(sack),
            packet.channel,
            packet.connection,
            packet.seq,
            packet.ack,
            packet.window,
            packet.tsval,
            packet.tsecr,
            len(packet.payload),
            packet.ack_every,
        )
        blocks = [_SACK.pack(start, end) for start, end in sack]
    except struct.error as exc:
        raise LocalProtocolError(f"packet field out of range: {exc}") from None
    if not blocks and not packet.trailer:
        return header + packet.payload
    return b"".join([header, *blocks, packet.payload, packet.trailer])


def encode_ack(
    *,
    channel: int,
    connection: int,
    ack: int,
    window: int,
    tsval: int,
    tsecr: int,
    sack: tuple[tuple[int, int], ...] = (),
    delay: int | None = None,
) -> tuple[bytes, Packet]:
    """An ACK and its bytes, built without the general checks of :func:`encode`.

    The caller guarantees what ``encode`` would check: fields in range, at most four blocks.
    ``delay``: a one-way delay sample in microseconds (mod 2**32), carried in ``seq``
    (:data:`DELAY_SAMPLE`).
    """
    seq = 0 if delay is None else DELAY_SAMPLE | (delay & _DELAY_MASK)
    header = _HEADER.pack(
        VERSION, PacketType.ACK, 0, len(sack), channel, connection, seq, ack, window, tsval, tsecr, 0, 0
    )
    packet = Packet(PacketType.ACK, channel, connection, seq, ack, window, tsval, tsecr, 0, 0, sack, b"", b"")
    if sack:
        header += b"".join([_SACK.pack(start, end) for start, end in sack])
    return header, packet


def decode(data: bytes | bytearray | memoryview) -> Packet:
    """Parse one datagram; raise :class:`DecodeError` (and nothing else) if it is invalid."""
    size = len(data)
    if size and is_short_form(data[0]):
        return decode_short(data)
    if size < HEADER_SIZE:
        raise DecodeError(f"truncated: {size} bytes, the header alone is {HEADER_SIZE}")
    (version, ptype, flags, nsack, channel, connection, seq, ack, window, tsval, tsecr, payload_len, ack_every) = (
        _HEADER.unpack_from(data)
    )
    if version != VERSION:
        raise DecodeError(f"unsupported version {version} (this is version {VERSION})")
    kind = _TYPES.get(ptype)
    if kind is None:
        raise DecodeError(f"unknown packet type {ptype}")
    if kind in _SHORT_TYPES:
        raise DecodeError(f"a {kind.name} travels in the short form, not under the full header")
    if flags & ~KNOWN_FLAGS:
        raise DecodeError(f"unknown flags 0x{flags & ~KNOWN_FLAGS:02x}")
    if nsack > MAX_SACK_BLOCKS:
        raise DecodeError(f"{nsack} SACK blocks, at most {MAX_SACK_BLOCKS} allowed")
    payload_at = HEADER_SIZE + nsack * SACK_BLOCK_SIZE
    end = payload_at + payload_len
    if end > size:
        raise DecodeError(f"truncated: needs {end} bytes, got {size}")
    if end < size and not flags & FLAG_AUTH:
        raise DecodeError(f"{size - end} unexpected bytes after the payload")
    if ptype in _COOKIE_TYPES and payload_len != COOKIE_SIZE:
        raise DecodeError(f"a {kind.name} carries a {COOKIE_SIZE}-byte cookie, got {payload_len} bytes")
    if ptype in _PROBE_TYPES:
        _check_probe(data, kind, flags, nsack, payload_at, end, size, window)
    sack = _decode_sack(data, nsack) if nsack else ()
    raw = data if isinstance(data, bytes) else memoryview(data)
    return Packet(
        kind,
        channel,
        connection,
        seq,
        ack,
        window,
        tsval,
        tsecr,
        flags,
        ack_every,
        sack,
        bytes(raw[payload_at:end]),
        bytes(raw[end:]),
    )


def plain_ack_fields(data: bytes | memoryview) -> tuple[int, int, int, int, int, int] | None:
    """``(channel, connection, ack, window, tsecr, seq)`` of a plain ACK, else None (``seq``:
    0, or a one-way delay sample, :func:`delay_sample`).

    A plain ACK is exactly a header: no flags, no SACK blocks, no payload. It is by far the
    most common packet a source receives, so this skips building a :class:`Packet`. For
    anything else (None), use :func:`decode`.
    """
    if len(data) != HEADER_SIZE:
        return None
    head, channel, connection, seq, ack, window, tsecr, payload_len = PLAIN_ACK.unpack_from(data)
    if head != PLAIN_ACK_HEAD or payload_len:
        return None
    return channel, connection, ack, window, tsecr, seq


def _check_probe_fields(packet: Packet) -> None:
    """What :func:`decode` refuses in a PROBE or PROBE_ACK, refused before it is sent."""
    size = HEADER_SIZE + len(packet.payload)
    if packet.flags or packet.sack or packet.trailer:
        raise LocalProtocolError(f"a {packet.type.name} carries no flags, SACK blocks or trailer")
    if packet.type is PacketType.PROBE_ACK and packet.payload:
        raise LocalProtocolError("a PROBE_ACK carries no payload")
    if packet.type is PacketType.PROBE and (packet.window != size or packet.payload.count(0) != len(packet.payload)):
        raise LocalProtocolError(f"a PROBE of {size} bytes must say its size and carry only zeros")


def _check_probe(
    data: bytes | bytearray | memoryview,
    kind: PacketType,
    flags: int,
    nsack: int,
    at: int,
    end: int,
    size: int,
    window: int,
) -> None:
    """A PROBE is a header and zeros, ``window`` bytes in all; a PROBE_ACK is a bare header."""
    if flags or nsack or end != size:
        raise DecodeError(f"a {kind.name} carries no flags, SACK blocks or trailer")
    if kind is PacketType.PROBE_ACK:
        if end != at:
            raise DecodeError("a PROBE_ACK carries no payload")
    elif window != size or bytes(data[at:end]).count(0) != end - at:
        raise DecodeError(f"a PROBE of {size} bytes must say its size and carry only zeros (says {window})")


def _decode_sack(data: bytes | bytearray | memoryview, count: int) -> tuple[tuple[int, int], ...]:
    blocks = tuple(_SACK.unpack_from(data, HEADER_SIZE + i * SACK_BLOCK_SIZE) for i in range(count))
    for start, end in blocks:
        if start >= end:
            raise DecodeError(f"empty or inverted SACK block [{start}, {end})")
    return blocks
