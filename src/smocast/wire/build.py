"""Named constructors for the packets that are not on the hot path: each reads as what it builds.

Every function returns the encoded bytes with the packet they encode (the pair a
:class:`~smocast.core.datagram.Datagram` carries). DATA, REPAIR and ACK have fast builders
of their own in :mod:`smocast.wire.codec` (:func:`encode_data`, :func:`encode_ack`).
"""

from __future__ import annotations

from smocast.wire.codec import encode
from smocast.wire.packet import FLAG_RESUME, NO_COOKIE, Packet, PacketType

MAX_REASON = 200  # bytes of an RST's reason text


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


def syn_ack(*, channel: int, connection: int, start: int, window: int, tsval: int, tsecr: int) -> tuple[bytes, Packet]:
    """The source accepts a connection whose stream starts at ``start``."""
    return _encoded(Packet(PacketType.SYN_ACK, channel, connection, start, window=window, tsval=tsval, tsecr=tsecr))


def fin(*, channel: int, connection: int, end: int, tsval: int) -> tuple[bytes, Packet]:
    """The stream ends at ``end``: the receiver has everything once it acknowledges ``end + 1``."""
    return _encoded(Packet(PacketType.FIN, channel, connection, end, tsval=tsval))


def rst(
    *, channel: int, connection: int, seq: int = 0, reason: str = "", tsval: int = 0, max_reason: int = MAX_REASON
) -> tuple[bytes, Packet]:
    """Reset the connection; ``reason`` (UTF-8, cut to ``max_reason`` bytes) says why, for people.

    ``seq`` must be the stream offset the receiver expects next (the ``ack`` of its latest
    ACK): a receiver honours an RST only at exactly that offset (RFC 5961).
    """
    payload = reason.encode()[: min(max_reason, MAX_REASON)]
    return _encoded(Packet(PacketType.RST, channel, connection, seq, tsval=tsval, payload=payload))


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
