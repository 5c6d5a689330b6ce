"""A receiver's outgoing datagrams: one builder per kind of packet it sends, all to its server.

The receiver and its parts (its :class:`~smocast.smo.connecting.Handshake` sends the SYNs,
its :class:`~smocast.smo.intake.Intake` the ACKs) decide what to send and when; the outbox
builds each datagram for its one connection (channel, connection id, server address) and
queues it until the runtime takes them with :meth:`ReceiverOutbox.take`. It is the receiver's twin of
:class:`~smocast.smo.outbox.SourceOutbox`.
"""

from __future__ import annotations

from smocast.core.datagram import Address, Datagram, unicast
from smocast.core.timestamps import timestamp
from smocast.wire import Packet, ResetCode, encode_ack
from smocast.wire import build as packets


class ReceiverOutbox:
    """Datagrams of connection ``connection`` on channel ``channel_id``, to the source at ``server``."""

    __slots__ = ("_channel", "_connection", "_out", "_server")

    def __init__(self, channel_id: int, connection: int, server: Address) -> None:
        self._channel = channel_id
        self._connection = connection
        self._server = server
        self._out: list[Datagram[Packet]] = []

    def take(self) -> list[Datagram[Packet]]:
        """Everything queued, in order; the queue is then empty."""
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    def syn(self, window: int, resume_from: int | None, cookie: bytes, now: float) -> None:
        """Open (or re-ask for) the connection, echoing the source's latest ``cookie``."""
        data, packet = packets.syn(
            channel=self._channel,
            connection=self._connection,
            window=window,
            tsval=timestamp(now),
            resume_from=resume_from,
            cookie=cookie,
        )
        self._out.append(unicast(data, packet, self._server))

    def ack(
        self, ack: int, window: int, echo: int, sack: tuple[tuple[int, int], ...], now: float, delay: int | None = None
    ) -> None:
        """Acknowledge the stream up to ``ack`` with the SACK blocks above it and the window
        (and ``delay``, a one-way delay sample: :data:`~smocast.wire.codec.DELAY_SAMPLE`)."""
        data, packet = encode_ack(
            channel=self._channel,
            connection=self._connection,
            ack=ack,
            window=window,
            tsval=timestamp(now),
            tsecr=echo,
            sack=sack,
            delay=delay,
        )
        self._out.append(unicast(data, packet, self._server))

    def rst(self, seq: int, code: ResetCode, reason: str, now: float) -> None:
        """Leave the channel, saying why; ``seq`` is the next stream byte this receiver expects."""
        data, packet = packets.rst(
            channel=self._channel,
            connection=self._connection,
            seq=seq,
            code=code,
            reason=reason,
            tsval=timestamp(now),
        )
        self._out.append(unicast(data, packet, self._server))

    def updata(self, offset: int, payload: bytes, flags: int, ack: int, window: int, echo: int, now: float) -> None:
        """One segment of the stream sent up to the source (session relay), carrying an ACK."""
        data, packet = packets.updata(
            channel=self._channel,
            connection=self._connection,
            offset=offset,
            ack=ack,
            window=window,
            tsval=timestamp(now),
            tsecr=echo,
            flags=flags,
            payload=payload,
        )
        self._out.append(unicast(data, packet, self._server))

    def probe_ack(self, number: int, size: int) -> None:
        """Path MTU discovery: probe ``number`` of ``size`` bytes arrived whole."""
        data, packet = packets.probe_ack(channel=self._channel, connection=self._connection, number=number, size=size)
        self._out.append(unicast(data, packet, self._server))
