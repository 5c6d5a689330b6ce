"""Named constructors for the packets that are not on the hot path: each reads as what it builds.

Every function returns the encoded bytes with the packet they encode (the pair a
:class:`~smocast.core.datagram.Datagram` carries). DATA, REPAIR and ACK have fast builders
of their own in :mod:`smocast.wire.codec` (:func:`encode_data`, :func:`encode_ack`).
"""

from __future__ import annotations

from smocast.core.errors import LocalProtocolError
from smocast.wire.codec import HEADER_SIZE, MAX_PAYLOAD, encode
from smocast.wire.packet import FLAG_RESUME, NO_COOKIE, Packet, PacketType, ResetCode

MAX_REASON = 200  # bytes of an RST's reason text (after its one-byte code)
MAX_HEARTBEAT_MS = 1 << 32  # a SYN-ACK's heartbeat field, in milliseconds (0: the source sends none)


def _encoded(packet: Packet) -> tuple[bytes, Packet]:
    return encode(packet), packet


def syn(
    *,
    channel: int,
    connection: int,
    window: int,
    tsval: int,
    resume_from: int | None = None,
    cookie: bytes = NO_COOKIE,
) -> tuple[bytes, Packet]:
    """A receiver opens its connection; ``resume_from`` asks to start at that stream offset.

    ``cookie`` echoes the source's last RETRY (:data:`NO_COOKIE` on a first SYN).
    """
    flags = FLAG_RESUME if resume_from is not None else 0
    packet = Packet(
        PacketType.SYN,
        channel,
        connection,
        ack=resume_from or 0,
        window=window,
        tsval=tsval,
        flags=flags,
        payload=cookie,
    )
    return _encoded(packet)


def retry(*, channel: int, connection: int, cookie: bytes, tsecr: int) -> tuple[bytes, Packet]:
    """The source's stateless answer to a SYN without a valid cookie: echo ``cookie`` in the next SYN."""
    return _encoded(Packet(PacketType.RETRY, channel, connection, tsecr=tsecr, payload=cookie))


def syn_ack(
    *, channel: int, connection: int, start: int, window: int, tsval: int, tsecr: int, heartbeat: float | None = None
) -> tuple[bytes, Packet]:
    """The source accepts a connection whose stream starts at ``start``.

    ``heartbeat`` is how often (seconds) the source multicasts something even when it has
    nothing to send; it travels in ``ack`` in milliseconds (0: none), so the receiver knows
    how long a silence means the source is gone (:func:`heartbeat_of`).
    """
    ms = min(round(heartbeat * 1000), MAX_HEARTBEAT_MS - 1) if heartbeat else 0
    packet = Packet(PacketType.SYN_ACK, channel, connection, start, ack=ms, window=window, tsval=tsval, tsecr=tsecr)
    return _encoded(packet)


def heartbeat_of(syn_ack_packet: Packet) -> float | None:
    """The heartbeat interval a SYN-ACK announces, in seconds (None: the source sends none)."""
    return syn_ack_packet.ack / 1000 if syn_ack_packet.ack else None


def fin(*, channel: int, connection: int, end: int, tsval: int) -> tuple[bytes, Packet]:
    """The stream ends at ``end``: the receiver has everything once it acknowledges ``end + 1``."""
    return _encoded(Packet(PacketType.FIN, channel, connection, end, tsval=tsval))


def rst(
    *,
    channel: int,
    connection: int,
    seq: int = 0,
    code: ResetCode = ResetCode.UNSPECIFIED,
    reason: str = "",
    tsval: int = 0,
    max_reason: int = MAX_REASON,
) -> tuple[bytes, Packet]:
    """Reset the connection, saying why: ``code``, then ``reason`` for people.

    The payload is the code's byte and the reason in UTF-8, cut at a character boundary to
    ``max_reason`` bytes in all (the code included); with no room at all it is empty. Read it
    with :func:`reset_reason`. From the source, ``seq`` must be the stream offset the receiver
    expects next (the ``ack`` of its latest ACK): a receiver honours an RST only at exactly
    that offset (RFC 5961). From a receiver, ``seq`` is its ``rcv_nxt``.
    """
    room = min(max_reason, MAX_REASON + 1) - 1
    payload = b"" if room < 0 else bytes([code]) + _cut(reason, room)
    return _encoded(Packet(PacketType.RST, channel, connection, seq, tsval=tsval, payload=payload))


def reset_reason(payload: bytes) -> tuple[ResetCode, str]:
    """An RST's reason: its code (UNSPECIFIED when empty or unknown) and its text (never raises)."""
    if not payload:
        return ResetCode.UNSPECIFIED, ""
    try:
        code = ResetCode(payload[0])
    except ValueError:
        code = ResetCode.UNSPECIFIED
    return code, payload[1:].decode("utf-8", "replace")


def _cut(text: str, limit: int) -> bytes:
    """``text`` in UTF-8, at most ``limit`` bytes, never ending inside a character."""
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", "ignore").encode()


def updata(
    *,
    channel: int,
    connection: int,
    offset: int,
    ack: int,
    window: int,
    tsval: int,
    tsecr: int,
    flags: int,
    payload: bytes,
) -> tuple[bytes, Packet]:
    """A piece of a receiver's own stream, up its connection (session relay), with its ACK fields."""
    return _encoded(
        Packet(
            PacketType.UPDATA,
            channel,
            connection,
            seq=offset,
            ack=ack,
            window=window,
            tsval=tsval,
            tsecr=tsecr,
            flags=flags,
            payload=payload,
        )
    )


def probe(*, channel: int, connection: int, number: int, size: int) -> tuple[bytes, Packet]:
    """A path MTU probe of exactly ``size`` bytes (header included) to one receiver: zeros, no stream data."""
    if not HEADER_SIZE <= size <= HEADER_SIZE + MAX_PAYLOAD:
        raise LocalProtocolError(f"a probe of {size} bytes does not fit the format")
    return _encoded(
        Packet(PacketType.PROBE, channel, connection, number, window=size, payload=bytes(size - HEADER_SIZE))
    )


def probe_ack(*, channel: int, connection: int, number: int, size: int) -> tuple[bytes, Packet]:
    """A receiver got probe ``number``, ``size`` bytes long: the size is confirmed (if it matches)."""
    return _encoded(Packet(PacketType.PROBE_ACK, channel, connection, number, window=size))
