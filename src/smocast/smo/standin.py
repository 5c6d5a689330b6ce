"""For code that stands in for a receiver without running one (benchmarks, tests): the cookie round trip.

A real :class:`~smocast.smo.receiver.Receiver` answers the source's RETRY by itself. A
benchmark that feeds a channel hand-made packets calls :func:`validated_syn` instead of
delivering a bare SYN: it delivers the first SYN, reads the cookie from the RETRY, and
delivers the SYN that echoes it, as a receiver would.
"""

from __future__ import annotations

from smocast.core.datagram import Address
from smocast.core.errors import LocalProtocolError
from smocast.smo.channel import Channel
from smocast.smo.outbox import SourceDatagram
from smocast.wire import NO_COOKIE, Packet, PacketType


def validated_syn(channel: Channel, syn: Packet, source: Address, now: float) -> list[SourceDatagram]:
    """Deliver ``syn`` from ``source`` with the cookie the channel hands out for it.

    Returns what the channel sent besides the RETRY (data it sent meanwhile); the SYN-ACK
    (or a refusal) is then queued in the channel: take it with ``datagrams_to_send``.
    """
    channel.receive_packet(syn._replace(payload=NO_COOKIE), source, now)
    other: list[SourceDatagram] = []
    cookie = None
    for datagram in channel.datagrams_to_send(now):
        packet = datagram.packet
        if packet.type is PacketType.RETRY and datagram.destination == source:
            cookie = packet.payload
        else:
            other.append(datagram)
    if cookie is None:
        raise LocalProtocolError(f"the channel sent no RETRY to {source[0]}:{source[1]}")
    channel.receive_packet(syn._replace(payload=cookie), source, now)
    return other
