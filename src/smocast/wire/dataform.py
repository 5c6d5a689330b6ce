"""The short form of DATA and REPAIR packets: a 16-byte header, then the payload to the datagram's end.

Stream data is nearly every byte a source sends, so its packets carry only what a receiver
reads from them. Layout, big-endian::

    0  u8   form: 0x80 | 0x10 for a REPAIR | the packet's flags (only FLAG_MSG_START)
    1  u32  channel id
    5  u48  seq: the byte offset of the payload in the stream (at most MAX_STREAM_OFFSET)
    11 u32  TSval (microseconds)
    15 u8   ACK-frequency hint
    16 ..   payload, to the end of the datagram (empty: a heartbeat)

A first byte of 0x80 to 0x9F says the short form: it is neither a full header's version
(:data:`~smocast.wire.packet.VERSION`) nor the secure layer's marker (0xC5). There is no
connection id: a repair to one receiver is addressed to it, and a receiver takes a repair with
connection 0 from anyone in the clear mode anyway (the secure mode authenticates every packet).
No ACK, window or TSecr (a source's data acknowledges nothing) and no payload length (the
datagram's length says it): 32 bytes fewer than the full header, 2% more payload per
1500-byte packet.
"""

from __future__ import annotations

import struct

from smocast.core.errors import LocalProtocolError
from smocast.wire.packet import FLAG_MSG_START, DecodeError, Packet, PacketType

_SHORT = struct.Struct("!BIHIIB")  # form, channel, seq high 16 bits, seq low 32 bits, TSval, ACK frequency
DATA_HEADER_SIZE = _SHORT.size
"""Bytes of a DATA or REPAIR header: the packet that carries a segment of ``mss`` bytes is ``mss + 16``."""
MAX_STREAM_OFFSET = (1 << 48) - 1
"""The largest stream offset the short form carries (256 TiB): a channel's stream ends before it."""
SHORT_FORM = 0x80
_REPAIR_BIT = 0x10
_FORM_MASK = 0xE0
_FLAG_BITS = 0x0F
_LOW = 0xFFFFFFFF


def is_short_form(first_byte: int) -> bool:
    """Whether a datagram whose first byte is ``first_byte`` is a DATA or REPAIR in the short form."""
    return first_byte & _FORM_MASK == SHORT_FORM


def encode_data(
    kind: PacketType,
    *,
    channel: int,
    seq: int,
    tsval: int,
    flags: int,
    ack_every: int,
    payload: bytes,
) -> tuple[bytes, Packet]:
    """A DATA or REPAIR packet and its bytes, built without the checks of :func:`check_short`.

    The caller guarantees them: fields in range, ``flags`` at most FLAG_MSG_START. A ``seq``
    past :data:`MAX_STREAM_OFFSET` raises ``struct.error``.
    """
    form = SHORT_FORM | flags | (_REPAIR_BIT if kind is PacketType.REPAIR else 0)
    header = _SHORT.pack(form, channel, seq >> 32, seq & _LOW, tsval, ack_every)
    return header + payload, Packet(kind, channel, 0, seq, 0, 0, tsval, 0, flags, ack_every, (), payload, b"")


def check_short(packet: Packet) -> None:
    """Raise LocalProtocolError if ``packet`` (a DATA or REPAIR) has what the short form cannot carry."""
    if packet.connection or packet.ack or packet.window or packet.tsecr or packet.sack or packet.trailer:
        raise LocalProtocolError(
            f"a {packet.type.name} carries no connection id, ack, window, TSecr, SACK blocks or trailer"
        )
    if packet.flags & ~FLAG_MSG_START:
        raise LocalProtocolError(f"a {packet.type.name} carries no flags but FLAG_MSG_START, got 0x{packet.flags:02x}")
    if not 0 <= packet.seq <= MAX_STREAM_OFFSET:
        raise LocalProtocolError(f"seq {packet.seq} is past the short form's {MAX_STREAM_OFFSET}")
    if not 0 <= packet.channel <= _LOW or not 0 <= packet.tsval <= _LOW or not 0 <= packet.ack_every <= 0xFF:
        raise LocalProtocolError("packet field out of range: channel, TSval or ACK frequency")


def decode_short(data: bytes | bytearray | memoryview) -> Packet:
    """Parse a short-form datagram (:func:`is_short_form` of its first byte); raise DecodeError if invalid."""
    size = len(data)
    if size < DATA_HEADER_SIZE:
        raise DecodeError(f"truncated: {size} bytes, the data header alone is {DATA_HEADER_SIZE}")
    form, channel, high, low, tsval, ack_every = _SHORT.unpack_from(data)
    flags = form & _FLAG_BITS
    if flags & ~FLAG_MSG_START:
        raise DecodeError(f"unknown data flags 0x{flags & ~FLAG_MSG_START:02x}")
    kind = PacketType.REPAIR if form & _REPAIR_BIT else PacketType.DATA
    raw = data if isinstance(data, bytes) else memoryview(data)
    payload = bytes(raw[DATA_HEADER_SIZE:])
    return Packet(kind, channel, 0, high << 32 | low, 0, 0, tsval, 0, flags, ack_every, (), payload, b"")


def plain_data_fields(data: bytes | memoryview) -> tuple[int, int, int, int, int] | None:
    """``(channel, seq, tsval, flags, ack_every)`` of a DATA packet with a payload, else None.

    It is what a receiver gets from the group almost always, so this skips building a
    :class:`Packet`. Its payload is ``data[DATA_HEADER_SIZE:]``. For anything else (None),
    use :func:`smocast.wire.decode`.
    """
    if len(data) <= DATA_HEADER_SIZE:
        return None
    form, channel, high, low, tsval, ack_every = _SHORT.unpack_from(data)
    if form != SHORT_FORM and form != SHORT_FORM | FLAG_MSG_START:
        return None
    return channel, high << 32 | low, tsval, form & FLAG_MSG_START, ack_every


def data_fields(data: bytes | memoryview) -> tuple[bool, int, int, int] | None:
    """``(is_repair, seq, tsval, payload length)`` of a DATA or REPAIR datagram, else None: what a
    load generator reads from the group to pace its ACKs."""
    if len(data) < DATA_HEADER_SIZE or not is_short_form(data[0]):
        return None
    form, _, high, low, tsval, _ = _SHORT.unpack_from(data)
    return bool(form & _REPAIR_BIT), high << 32 | low, tsval, len(data) - DATA_HEADER_SIZE
