"""An established receiver's data path: which segments it takes, and when and what it ACKs.

The :class:`~smocast.smo.receiver.Receiver` hands :class:`Intake` every DATA and REPAIR
segment once its connection is established (and runs of plain in-order DATA from a batch, the
common case, through :meth:`Intake.take_run`). The intake refuses what starts past the window
(:class:`~smocast.smo.flowcontrol.ReceiveWindow`), gives the rest to the
:class:`~smocast.smo.delivery.Delivery`, answers heartbeats, and decides when an ACK is due:
every few in-order segments (the source's hint, :class:`~smocast.core.acking.DelayedAck`), at
once for anything out of order, a duplicate, a skip, or a window the source may have missed.
Each ACK carries the SACK blocks, the window, the TSval of the oldest unacknowledged
segment (RFC 7323), and the one-way delay of the newest data segment read
(:data:`~smocast.wire.codec.DELAY_SAMPLE`), timed by ``now`` unless the runtime gives the
kernel's arrival time of a batch (:meth:`Intake.arrived`).
"""

from __future__ import annotations

from collections.abc import Sequence

from smocast.core.acking import DelayedAck
from smocast.core.datagram import Address
from smocast.core.timestamps import TS_MODULUS, timestamp
from smocast.smo.delivery import Delivery, ReceiverStats
from smocast.smo.flowcontrol import ReceiveWindow
from smocast.smo.receiver_config import ReceiverConfig
from smocast.smo.receiver_outbox import ReceiverOutbox
from smocast.wire import DATA_HEADER_SIZE, MAX_SACK_BLOCKS, Packet, PacketType, plain_data_fields


class Intake:
    """The data segments and ACKs of one established receiver, on channel ``config.channel_id``."""

    __slots__ = (
        "_channel",
        "_data",
        "_dsack",
        "_out",
        "_playout",
        "_stats",
        "_window",
        "ack_due",
        "delayed_ack",
        "highest",
        "last_ack_sent",
        "newest_at",
        "newest_tsval",
        "taken",
        "ts_recent",
    )

    def __init__(
        self,
        config: ReceiverConfig,
        data: Delivery,
        window: ReceiveWindow,
        out: ReceiverOutbox,
        stats: ReceiverStats,
    ) -> None:
        self._channel = config.channel_id
        self._playout = config.playout_delay is not None
        self._data = data
        self._window = window
        self._out = out
        self._stats = stats
        self.delayed_ack = DelayedAck(config.ack_delay)  # its deadline is the receiver's to arm (read-only)
        self.ack_due = False  # the next datagrams_to_send must carry an ACK (read-only: see ack_soon)
        self._dsack: tuple[int, int] | None = None  # an original that came again, for the next ACK (RFC 2883)
        self.ts_recent = 0  # the TSval the next ACK echoes (read-only)
        self.last_ack_sent = 0  # rcv_nxt in the last ACK (read-only)
        self.highest = 0  # the highest stream offset seen in data or heartbeats (read-only)
        self.newest_tsval: int | None = None  # TSval of the newest DATA segment since the last ACK (read-only)
        self.newest_at = 0.0  # when it arrived (read-only: see arrived)
        self.taken = 0  # DATA segments taken with a TSval, ever: the runtime's mark for arrived()

    def start_at(self, offset: int) -> None:
        """The handshake fixed the stream's first byte: nothing below it is unacknowledged."""
        self.last_ack_sent = offset

    def echo(self, tsval: int) -> None:
        """The next ACK echoes ``tsval`` (the SYN-ACK's, when it completes the handshake)."""
        self.ts_recent = tsval

    def ack_soon(self) -> None:
        """The next ``datagrams_to_send`` must carry an ACK."""
        self.ack_due = True

    def on_timer(self, now: float) -> None:
        """The receiver's timer fired (it arms it for ``delayed_ack.deadline``): send the delayed
        ACK if it is due."""
        if self.delayed_ack.due(now):
            self.send_ack(now)

    def arrived(self, arrival: float, mark: int) -> None:
        """The batch just handed in reached the host at ``arrival`` (the kernel's timestamp),
        and :attr:`taken` was ``mark`` before it: if it held DATA, the newest arrived then,
        not at the ``now`` it was handed in with."""
        if self.taken != mark:
            self.newest_at = arrival

    def stop(self) -> None:
        """The connection ended: no delayed ACK is due any more."""
        self.delayed_ack.on_ack_sent()

    # --- segments ------------------------------------------------------------------------------

    def take_run(self, batch: Sequence[tuple[bytes | memoryview, Address]], index: int, now: float) -> int:
        """The batch's common case: plain DATA packets from ``index`` on, each the next expected
        segment (or, while data is held out of order, each continuing the highest held range),
        within the window; what :meth:`segment` does for each, with the state read and written
        once for the run. Call it only without framing or a playout delay. Returns the index of
        the first datagram not taken (``index``: none was)."""
        if self._data.holds_data:
            return self._take_held_run(batch, index, now)
        delivery, delayed_ack = self._data, self.delayed_ack.on_data
        start = expected = delivery.rcv_nxt
        room = self._window.room
        channel, last_ack_sent = self._channel, self.last_ack_sent
        payloads: list[bytes | memoryview] = []
        echo: int | None = None
        newest = 0
        ack_now = False
        for data, _ in batch[index:]:
            fields = plain_data_fields(data)
            if fields is None or fields[0] != channel or fields[1] != expected or room <= 0:
                break
            newest = fields[2]
            if expected <= last_ack_sent:
                echo = newest  # RFC 7323: echo the oldest unacknowledged segment
            payloads.append(data[DATA_HEADER_SIZE:])
            size = len(data) - DATA_HEADER_SIZE
            expected += size
            room -= size
            if delayed_ack(True, fields[4] or 2, now):
                ack_now = True
        if not payloads:
            return index
        delivery.take_run(start, payloads)
        self._stats.segments += len(payloads)
        self.highest = max(self.highest, expected)
        if echo is not None:
            self.ts_recent = echo
        self.newest_tsval, self.newest_at = newest, now
        self.taken += 1
        if ack_now:
            self.ack_due = True
        return index + len(payloads)

    def _take_held_run(self, batch: Sequence[tuple[bytes | memoryview, Address]], index: int, now: float) -> int:
        """:meth:`take_run` above a hole: the stream goes on past the held data, so each plain
        DATA packet from ``index`` on that continues the highest held range, within the window,
        is held with the others in one store; one ACK goes out for the run (out-of-order data is
        acknowledged at once, RFC 5681 (4.2))."""
        delivery = self._data
        start = expected = delivery.held_end or 0
        limit = delivery.rcv_nxt + self._window.room  # segment() refuses what starts at or past it
        channel = self._channel
        payloads: list[bytes | memoryview] = []
        newest = 0
        for data, _ in batch[index:]:
            fields = plain_data_fields(data)
            if fields is None or fields[0] != channel or fields[1] != expected or expected >= limit:
                break
            newest = fields[2]
            payloads.append(data[DATA_HEADER_SIZE:])
            expected += len(data) - DATA_HEADER_SIZE
        if not payloads or not delivery.hold_run(start, payloads):
            return index
        self._stats.segments += len(payloads)
        self.highest = max(self.highest, expected)
        self.newest_tsval, self.newest_at = newest, now
        self.taken += 1
        self.delayed_ack.on_data(False, 2, now)
        self.ack_due = True
        return index + len(payloads)

    def segment(self, packet: Packet, now: float, *, via_group: bool = False) -> None:
        """A DATA or REPAIR segment (or an empty DATA, a heartbeat) for this receiver
        (``via_group``: it came to the group, not to this receiver alone)."""
        seq = packet.seq
        data = self._data
        if packet.type is PacketType.DATA:  # sent to the group as it was stamped: a delay sample
            self.newest_tsval, self.newest_at = packet.tsval, now
            self.taken += 1
        if not packet.payload:
            self._on_heartbeat(seq)
            return
        rcv_nxt = data.rcv_nxt
        self.highest = max(self.highest, seq + len(packet.payload))
        if seq >= rcv_nxt + self._window.room:
            self._refuse_beyond_window()
            return
        stats = self._stats
        stats.segments += 1
        deadline = data.deadline_of(packet, now) if self._playout else None
        if packet.type is PacketType.REPAIR:
            stats.repairs += 1
        elif seq == rcv_nxt and not data.holds_data:
            self._next_in_order(packet, now)
            return
        if not data.is_new(seq, seq + len(packet.payload)):
            stats.duplicates += 1
            if packet.type is PacketType.DATA and seq + len(packet.payload) <= rcv_nxt:
                self._dsack = (seq, seq + len(packet.payload))  # an original, after its repair: tell the source
                self.ack_due = True
            elif not via_group:  # a repair to the group is for those that reported the segment lost
                self.ack_due = True  # repaired to us alone: our ACK may have been lost, repeat it at once
            return
        in_order = seq <= rcv_nxt
        if in_order and seq <= self.last_ack_sent:
            self.ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        filled_hole = in_order and data.holds_data
        data.take(packet, deadline, now)
        if self.delayed_ack.on_data(in_order and not filled_hole, packet.ack_every or 2, now):
            self.ack_due = True

    def _next_in_order(self, packet: Packet, now: float) -> None:
        """The common case, kept short: the next expected segment, nothing held out of order."""
        if packet.seq <= self.last_ack_sent:
            self.ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        self._data.take_next(packet, now)
        if self.delayed_ack.on_data(True, packet.ack_every or 2, now):
            self.ack_due = True

    def _refuse_beyond_window(self) -> None:
        """TCP's unacceptable segment: it starts past the window offered, so it is dropped and
        memory stays bounded by the receive buffer; the source repairs it once there is room."""
        self._stats.beyond_window += 1
        if self._window.stale:
            self.ack_due = True  # tell the source the window it missed, once per change

    def _on_heartbeat(self, seq: int) -> None:
        """An empty DATA packet: the source is alive, and its stream has reached ``seq``."""
        data = self._data
        self.highest = max(self.highest, seq)
        tail_lost = seq > data.rcv_nxt and not data.has(seq - 1)
        if tail_lost or self._window.stale:
            self.ack_due = True  # a lost tail, or a window update the source may have missed

    def skip(self, target: int, now: float) -> None:
        """Real time: give up the stream below ``target`` (see :meth:`Delivery.skip_target`)."""
        self._data.skip(target, now)
        self.ack_due = True  # acknowledge past the hole so the source stops repairing it

    # --- acknowledgements ----------------------------------------------------------------------

    def send_ack(self, now: float, *, fin: bool = False) -> None:
        """Acknowledge everything received so far (and the FIN with ``fin``), now."""
        self.ack_due = False
        data = self._data
        rcv_nxt = data.rcv_nxt
        window = self._window.advertise()
        sack = data.sack_blocks(MAX_SACK_BLOCKS)
        if self._dsack is not None:  # RFC 2883: the duplicate first, below the cumulative ACK
            sack, self._dsack = (self._dsack, *sack[: MAX_SACK_BLOCKS - 1]), None
        tsval = self.newest_tsval
        delay = None if tsval is None else (timestamp(self.newest_at) - tsval) % TS_MODULUS
        self._out.ack(rcv_nxt + (1 if fin else 0), window, self.ts_recent, sack, now, delay)
        self.newest_tsval = None
        self.last_ack_sent = rcv_nxt
        self.delayed_ack.on_ack_sent()
        self._stats.acks_sent += 1
