"""The source's resets: exact RSTs that a receiver can trust, also after its child is gone.

A receiver honours an RST only at exactly the stream offset it expects next, and answers a
near miss with a challenge ACK (RFC 5961). The source's view of that offset (the child's
``una``) may lag behind the receiver's by the ACKs in flight, so its first RST can miss;
the challenge ACK then names the exact offset, and since the child is gone by then, the
channel answers the ACK of an unknown connection with an RST at that offset.

:class:`Resets` remembers why the most recent connections were reset (a bounded map, oldest
first out) so that the exact RST repeats the real reason, and keeps every RST sent to an
address that is not a receiver no larger than :data:`AMPLIFICATION` times the packet that
drew it.
"""

from __future__ import annotations

from collections import OrderedDict

from smocast.core.datagram import Address
from smocast.smo.outbox import SourceOutbox
from smocast.smo.stats import ChannelStats
from smocast.wire import HEADER_SIZE, SACK_BLOCK_SIZE, Packet, ResetCode

AMPLIFICATION = 3  # bytes sent to an address that is not a receiver, per byte received from it (as QUIC)
REMEMBERED = 1024  # recently reset connections whose reason is kept for the exact RST
UNKNOWN = "unknown connection"


class Resets:
    """Sends the channel's RSTs; O(1) per RST, memory bounded by :data:`REMEMBERED` entries."""

    __slots__ = ("_out", "_reasons", "_stats")

    def __init__(self, out: SourceOutbox, stats: ChannelStats) -> None:
        self._out = out
        self._stats = stats
        self._reasons: OrderedDict[tuple[Address, int], str] = OrderedDict()

    def reset(self, address: Address, connection: int, seq: int, reason: str) -> None:
        """Reset a receiver the channel dropped; ``seq`` is its acknowledged offset (``una``)."""
        self._out.rst(address, connection, seq, reason, code=ResetCode.DROPPED)
        key = (address, connection)
        self._reasons[key] = reason
        self._reasons.move_to_end(key)
        if len(self._reasons) > REMEMBERED:
            self._reasons.popitem(last=False)

    def unknown(self, packet: Packet, address: Address) -> None:
        """An ACK from ``address`` for a connection the channel does not hold: reset it at its ``ack``.

        A receiver whose first RST missed (a challenge ACK) gets the exact one, with the
        reason it was reset for; anybody else gets at most :data:`AMPLIFICATION` times the
        ACK's size.
        """
        self._stats.unknown_resets += 1
        connection = packet.connection
        size = HEADER_SIZE + SACK_BLOCK_SIZE * len(packet.sack) + len(packet.payload) + len(packet.trailer)
        reason = self._reasons.get((address, connection))
        code = ResetCode.UNSPECIFIED if reason is None else ResetCode.DROPPED
        room = max(0, AMPLIFICATION * size - HEADER_SIZE)
        self._out.rst(address, connection, packet.ack, reason or UNKNOWN, code=code, max_reason=room)
