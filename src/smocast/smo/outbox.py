"""The source's outgoing datagrams: one builder per kind of packet it sends, and the queue of them.

The channel decides what to send and counts it; the outbox only builds the datagrams, in
the order asked, until the runtime takes them with :meth:`SourceOutbox.take`.
"""

from __future__ import annotations

from smocast.core.datagram import Address, Datagram, multicast, unicast
from smocast.core.timestamps import timestamp
from smocast.wire import Packet, PacketType, ResetCode, encode_ack, encode_data
from smocast.wire import build as packets

SourceDatagram = Datagram[Packet]


class SourceOutbox:
    """Datagrams of one channel ``channel_id`` whose group is ``group``; ``heartbeat`` is the
    channel's keepalive interval, which each SYN-ACK announces (None: it sends none)."""

    __slots__ = ("_channel", "_group", "_heartbeat", "_out")

    def __init__(self, channel_id: int, group: Address, heartbeat: float | None = None) -> None:
        self._channel = channel_id
        self._group = group
        self._heartbeat = heartbeat
        self._out: list[SourceDatagram] = []

    def take(self) -> list[SourceDatagram]:
        """Everything queued, in order; the queue is then empty."""
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    # --- to the group --------------------------------------------------------------------------

    def original(self, seq: int, payload: bytes, flags: int, ack_every: int, now: float) -> None:
        """A new segment, sent once to the group, with the ACK-frequency hint."""
        data, packet = encode_data(
            PacketType.DATA,
            channel=self._channel,
            seq=seq,
            tsval=timestamp(now),
            flags=flags,
            ack_every=ack_every,
            payload=payload,
        )
        self._out.append(multicast(data, packet, self._group))

    def heartbeat(self, seq: int, now: float) -> None:
        """An empty DATA at the current sequence: the source is alive, the stream is at ``seq``."""
        self.original(seq, b"", 0, 1, now)

    def repair(self, seq: int, payload: bytes, flags: int, now: float, to: Address | None) -> None:
        """A repair to the whole group (``to`` None) or to the receiver at ``to``."""
        data, packet = encode_data(
            PacketType.REPAIR,
            channel=self._channel,
            seq=seq,
            tsval=timestamp(now),
            flags=flags,
            ack_every=1,
            payload=payload,
        )
        self._out.append(multicast(data, packet, self._group) if to is None else unicast(data, packet, to))

    # --- to one receiver -----------------------------------------------------------------------

    def probe(self, to: Address, connection: int, number: int, size: int) -> None:
        """A path MTU probe of ``size`` bytes to one receiver (zeros: no stream data)."""
        data, packet = packets.probe(channel=self._channel, connection=connection, number=number, size=size)
        self._out.append(unicast(data, packet, to))

    def syn_ack(self, to: Address, connection: int, start: int, window: int, echo: int, now: float) -> None:
        data, packet = packets.syn_ack(
            channel=self._channel,
            connection=connection,
            start=start,
            window=window,
            tsval=timestamp(now),
            tsecr=echo,
            heartbeat=self._heartbeat,
        )
        self._out.append(unicast(data, packet, to))

    def fin(self, to: Address, connection: int, end: int, now: float) -> None:
        data, packet = packets.fin(channel=self._channel, connection=connection, end=end, tsval=timestamp(now))
        self._out.append(unicast(data, packet, to))

    def rst(
        self,
        to: Address,
        connection: int,
        seq: int,
        reason: str,
        *,
        code: ResetCode = ResetCode.UNSPECIFIED,
        max_reason: int = packets.MAX_REASON,
    ) -> None:
        """Reset ``connection`` for ``code`` and ``reason``; ``seq`` is the stream offset its
        receiver expects next (RFC 5961)."""
        data, packet = packets.rst(
            channel=self._channel, connection=connection, seq=seq, code=code, reason=reason, max_reason=max_reason
        )
        self._out.append(unicast(data, packet, to))

    def retry(self, to: Address, connection: int, cookie: bytes, echo: int) -> None:
        """The stateless answer to a SYN without a valid cookie (never larger than the SYN)."""
        data, packet = packets.retry(channel=self._channel, connection=connection, cookie=cookie, tsecr=echo)
        self._out.append(unicast(data, packet, to))

    def up_ack(self, to: Address, connection: int, acked: int, echo: int, now: float) -> None:
        """Acknowledge a receiver's session-relay stream up to ``acked``."""
        data, packet = encode_ack(
            channel=self._channel, connection=connection, ack=acked, window=1 << 20, tsval=timestamp(now), tsecr=echo
        )
        self._out.append(unicast(data, packet, to))
