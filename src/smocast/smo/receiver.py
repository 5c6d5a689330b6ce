"""The TCP-SMO receiver: one TCP-like connection to the source, fed by the group's multicast.

It opens the connection (receiver-initiated three-way handshake), takes data from the group
and from unicast repairs alike, delivers the stream in order and exactly once, and ACKs
with SACK blocks and its receive window. RST from the source means: leave the channel.
FIN means the stream is complete.

In real-time mode (TCP-RTM, paper section V.C) a hole that cannot be repaired in time is
skipped: the data after it is delivered, a :class:`~smocast.smo.events.Skipped` event
names the range given up, and the next ACK acknowledges past the hole so the source stops
repairing it. See :class:`~smocast.smo.config.ReceiverConfig`.

Sans-IO: the runtime joins the multicast group before calling :meth:`Receiver.connect`.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from enum import Enum

from smocast.core.acking import DelayedAck
from smocast.core.datagram import Address, Datagram
from smocast.core.errors import LocalProtocolError
from smocast.core.timestamps import timestamp
from smocast.smo import events as ev
from smocast.smo.config import ReceiverConfig
from smocast.smo.framing import MessageFramer
from smocast.smo.reassembly import Reassembly
from smocast.smo.uplink import UpSender
from smocast.wire import (
    FLAG_MSG_START,
    FLAG_RESUME,
    MAX_SACK_BLOCKS,
    DecodeError,
    Packet,
    PacketType,
    decode,
    encode,
    encode_ack,
)


class ReceiverState(Enum):
    IDLE = "idle"
    SYN_SENT = "syn-sent"
    ESTABLISHED = "established"
    FINISHED = "finished"
    CLOSED = "closed"


@dataclass(slots=True)
class ReceiverStats:
    segments: int = 0
    duplicates: int = 0
    repairs: int = 0
    bytes_delivered: int = 0
    acks_sent: int = 0
    malformed: int = 0
    foreign: int = 0
    skips: int = 0
    skipped_bytes: int = 0
    messages: int = 0
    beyond_window: int = 0  # segments dropped because they started past the offered window


class Receiver:
    """One receiver of a TCP-SMO channel whose source is at ``server``."""

    def __init__(self, server: Address, config: ReceiverConfig | None = None, rng: random.Random | None = None) -> None:
        self.server = server
        self.config = cfg = config or ReceiverConfig()
        self._channel_id = cfg.channel_id
        self._rng = rng or random.Random(0)
        self.connection = self._rng.getrandbits(32) or 1
        self.state = ReceiverState.IDLE
        self.stats = ReceiverStats()
        self.start: int | None = None
        self.length: int | None = None  # stream length, once the FIN arrived
        self._reasm = Reassembly(0, cfg.receive_buffer)
        self._delack = DelayedAck(cfg.ack_delay)
        self._ts_recent = 0
        self._last_ack_sent = 0
        self._undelivered = 0  # bytes in DataReceived events the application has not taken
        self._early: list[Packet] = []  # data that arrived before the SYN-ACK
        self._syn_first: float | None = None
        self._syn_next: float | None = None
        self._syn_interval = cfg.syn_interval
        self._out: list[Datagram[Packet]] = []
        self._events: deque[object] = deque()
        self._ack_now = False
        self._framer = MessageFramer(synced=False) if cfg.framing else None
        self._boundaries: set[int] = set()  # held segment starts that begin a message
        self._unsynced_from: int | None = None  # discarding a partial first message since here
        self._path_base: float | None = None  # smallest (arrival - TSval) seen: clock offset + base delay
        self._playout_due: float | None = None
        self.handshake_rtt: float | None = None
        self._up = UpSender()
        self._last_heard: float | None = None  # when the source was last heard from
        self._backlog = 0  # delivered bytes the application still holds (set_backlog)
        self._advertised = cfg.receive_buffer  # the window in the last ACK

    # --- application API -------------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the handshake; the runtime must already have joined the group."""
        if self.state is not ReceiverState.IDLE:
            raise LocalProtocolError(f"connect() in state {self.state.value}")
        self.state = ReceiverState.SYN_SENT
        self._syn_first = now
        self._send_syn(now)

    def close(self, now: float) -> None:
        """Leave the channel now: the source is told with RST and removes this receiver."""
        if self.state in (ReceiverState.SYN_SENT, ReceiverState.ESTABLISHED):
            self._send_control(PacketType.RST, now)
        self.state = ReceiverState.CLOSED

    def send_up(self, message: bytes, now: float) -> bool:
        """Send a message up to the source (session relay); False when the buffer is full."""
        if self.state is not ReceiverState.ESTABLISHED:
            raise LocalProtocolError(f"send_up() in state {self.state.value}")
        return self._up.add(message)

    @property
    def up_pending(self) -> int:
        """Bytes sent up but not yet acknowledged by the source."""
        return self._up.queued

    def skip_hole(self, now: float) -> bool:
        """Real-time read: give up the hole at the head of the stream if data waits after it.

        Returns True when something was skipped (and the data after it delivered).
        """
        if not self.config.realtime:
            raise LocalProtocolError("skip_hole() needs realtime mode")
        target = self._skip_target()
        if target is None:
            return False
        self._skip(target, now)
        return True

    @property
    def rcv_nxt(self) -> int:
        """The next stream byte expected: everything below it was delivered."""
        return self._reasm.rcv_nxt

    @property
    def window(self) -> int:
        """The receive window advertised to the source."""
        used = self._reasm.held_bytes + self._undelivered + self._backlog
        return max(0, min(self.config.receive_buffer - used, 0xFFFFFFFF))

    @property
    def ack_pending(self) -> bool:
        """True when the next ``datagrams_to_send`` will carry an ACK (drive it soon)."""
        return self._ack_now

    def set_backlog(self, nbytes: int) -> None:
        """The application still holds ``nbytes`` of delivered data (a relay's downstream).

        The window shrinks by it, so the source slows down; when it has opened again by a
        quarter of the buffer since the last ACK, the receiver says so at once.
        """
        self._backlog = max(0, nbytes)
        if (
            self.state is ReceiverState.ESTABLISHED
            and self.window - self._advertised >= self.config.receive_buffer // 4
        ):
            self._ack_now = True

    @property
    def done(self) -> bool:
        return self.state in (ReceiverState.FINISHED, ReceiverState.CLOSED)

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        try:
            packet = decode(data)
        except DecodeError:
            self.stats.malformed += 1
            return
        self.receive_packet(packet, source, now)

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        """Handle one decoded packet, from the group or from the server."""
        if packet.channel != self._channel_id:
            self.stats.foreign += 1
            return
        self._last_heard = now
        kind = packet.type
        if kind is PacketType.DATA:
            self._handle_data(packet, now)
            return
        if kind is PacketType.REPAIR:
            if packet.connection in (0, self.connection):
                self._handle_data(packet, now)
            return
        if source != self.server or packet.connection != self.connection:
            self.stats.foreign += 1
            return
        if kind is PacketType.SYN_ACK:
            self._handle_syn_ack(packet, now)
        elif kind is PacketType.FIN:
            self._handle_fin(packet, now)
        elif kind is PacketType.RST:
            self._handle_rst(packet, now)
        elif kind is PacketType.ACK:
            self._up.on_ack(packet.ack, now)
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[Datagram[Packet]]:
        if self._ack_now:
            self._send_ack(now)
        if self._up.next < self._up.base + self._up.queued and self.state is ReceiverState.ESTABLISHED:
            self._send_up(now)
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    def next_deadline(self) -> float | None:
        syn, delack = self._syn_next, self._delack.deadline
        due = delack if syn is None or (delack is not None and delack < syn) else syn
        for other in (self._playout_due, self._up.due, self._silence_due()):
            if other is not None and (due is None or other < due):
                due = other
        return due

    def _silence_due(self) -> float | None:
        timeout = self.config.source_timeout
        if timeout is None or self._last_heard is None or self.state is not ReceiverState.ESTABLISHED:
            return None
        return self._last_heard + timeout

    def handle_timer(self, now: float) -> None:
        if self._syn_next is not None and now >= self._syn_next:
            self._on_syn_timer(now)
        silence = self._silence_due()
        if silence is not None and now >= silence:
            self._give_up(f"nothing heard from the source for {self.config.source_timeout:g} s", now)
            return
        if self._up.due is not None and now >= self._up.due:
            self._up.on_timeout(now)
        if self._playout_due is not None and now >= self._playout_due:
            target = self._skip_target()
            if target is None:
                self._playout_due = None
            else:
                self._skip(target, now)
        if self._delack.due(now) and self.state is ReceiverState.ESTABLISHED:
            self._send_ack(now)

    def next_event(self) -> object | None:
        """Pop the next event. Taking data frees window: the runtime must then call
        ``datagrams_to_send``, which carries a window update once a quarter of the buffer
        has opened since the last ACK."""
        if not self._events:
            return None
        event = self._events.popleft()
        if isinstance(event, ev.DataReceived | ev.MessageReceived):
            self._undelivered -= len(event.data)
            if (
                self.state is ReceiverState.ESTABLISHED
                and self._advertised < self.config.receive_buffer // 2
                and self.window - self._advertised >= self.config.receive_buffer // 4
            ):
                self._ack_now = True
        return event

    def window_update(self) -> None:
        """Send an ACK with the current window on the next ``datagrams_to_send``."""
        if self.state is ReceiverState.ESTABLISHED:
            self._ack_now = True

    # --- handshake -------------------------------------------------------------------------

    def _send_syn(self, now: float) -> None:
        resume = self.config.resume_from
        packet = Packet(
            PacketType.SYN,
            self.config.channel_id,
            self.connection,
            ack=resume or 0,
            window=self.window,
            tsval=timestamp(now),
            flags=FLAG_RESUME if resume is not None else 0,
        )
        self._out.append(Datagram(encode(packet), self.server, False, packet))
        self._syn_next = now + self._syn_interval

    def _on_syn_timer(self, now: float) -> None:
        assert self._syn_first is not None
        if now - self._syn_first >= self.config.connect_timeout:
            self._syn_next = None
            self.state = ReceiverState.CLOSED
            self._events.append(
                ev.ConnectFailed(
                    f"no answer from {self.server[0]}:{self.server[1]} within {self.config.connect_timeout:g} s", now
                )
            )
            return
        self._syn_interval = min(self._syn_interval * 2, 4.0)
        self._send_syn(now)

    def _handle_syn_ack(self, packet: Packet, now: float) -> None:
        if self.state is ReceiverState.SYN_SENT:
            assert self._syn_first is not None
            self.handshake_rtt = now - self._syn_first
            self.state = ReceiverState.ESTABLISHED
            self.start = packet.seq
            self._reasm = Reassembly(packet.seq, self.config.receive_buffer)
            self._last_ack_sent = packet.seq
            self._syn_next = None
            self._events.append(ev.Connected(packet.seq, now))
        if self.state is ReceiverState.ESTABLISHED:
            self._ts_recent = packet.tsval
            self._send_ack(now)  # completes (or repeats) the handshake
            early, self._early = self._early, []
            for data in early:
                self._handle_data(data, now)

    # --- data --------------------------------------------------------------------------------

    def _handle_data(self, packet: Packet, now: float) -> None:
        if self.state is not ReceiverState.ESTABLISHED:
            self._data_outside_established(packet)
            return
        seq = packet.seq
        reasm = self._reasm
        if not packet.payload:
            self._on_heartbeat(seq)
            return
        if seq >= reasm.rcv_nxt + self.config.receive_buffer - self._undelivered - self._backlog:
            self._refuse_beyond_window()
            return
        stats = self.stats
        stats.segments += 1
        deadline = self._deadline_of(packet, now) if self.config.playout_delay is not None else None
        if packet.type is PacketType.REPAIR:
            stats.repairs += 1
        elif seq == reasm.rcv_nxt and not reasm.ranges:
            self._next_in_order(packet, now)
            return
        end = seq + len(packet.payload)
        if not reasm.is_new(seq, end):
            self.stats.duplicates += 1
            self._ack_now = True  # a duplicate may mean our ACK was lost: repeat it at once
            return
        in_order = seq <= reasm.rcv_nxt
        if in_order and seq <= self._last_ack_sent:
            self._ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        filled_hole = in_order and bool(reasm.ranges)
        if not in_order and packet.flags & FLAG_MSG_START:
            self._boundaries.add(seq)
        offset = reasm.rcv_nxt
        boundary = in_order and seq == offset and bool(packet.flags & FLAG_MSG_START)
        for chunk in reasm.offer(seq, packet.payload, deadline):
            self._deliver(offset, chunk, boundary or offset in self._boundaries, now)
            offset += len(chunk)
            boundary = False
        if self._boundaries:
            self._boundaries = {b for b in self._boundaries if b >= reasm.rcv_nxt}
        if self.config.realtime:
            self._plan_skip()
        if self._delack.on_data(in_order and not filled_hole, packet.ack_every or 2, now):
            self._ack_now = True

    def _refuse_beyond_window(self) -> None:
        """TCP's unacceptable segment: it starts past the window offered, so it is dropped and
        memory stays bounded by the receive buffer; the source repairs it once there is room."""
        self.stats.beyond_window += 1
        if self.window != self._advertised:
            self._ack_now = True  # tell the source the window it missed, once per change

    def _data_outside_established(self, packet: Packet) -> None:
        if self.state is ReceiverState.SYN_SENT and len(self._early) < self.config.max_early_segments:
            self._early.append(packet)  # multicast that beat the SYN-ACK: kept for later
        elif self.state is ReceiverState.FINISHED and packet.type is PacketType.REPAIR:
            self._ack_now = True  # our last ACK was lost: say again that we have it all

    def _on_heartbeat(self, seq: int) -> None:
        """An empty DATA packet: the source is alive, and its stream has reached ``seq``."""
        reasm = self._reasm
        tail_lost = seq > reasm.rcv_nxt and not reasm.ranges.contains(seq - 1, seq)
        if tail_lost or self.window != self._advertised:
            self._ack_now = True  # a lost tail, or a window update the source may have missed

    def _next_in_order(self, packet: Packet, now: float) -> None:
        """The common case, kept short: the next expected segment, nothing held out of order."""
        payload = packet.payload
        reasm = self._reasm
        offset = packet.seq
        reasm.rcv_nxt = offset + len(payload)
        if offset <= self._last_ack_sent:
            self._ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        if payload:
            self._deliver(offset, payload, bool(packet.flags & FLAG_MSG_START), now)
        if self._delack.on_data(True, packet.ack_every or 2, now):
            self._ack_now = True

    def _deliver(self, offset: int, chunk: bytes, boundary: bool, now: float) -> None:
        self.stats.bytes_delivered += len(chunk)
        framer = self._framer
        if framer is None:
            self._undelivered += len(chunk)
            self._events.append(ev.DataReceived(offset, chunk))
            return
        was_synced = framer.synced
        messages, discarded = framer.feed(offset, chunk, boundary)
        if not was_synced:
            if not framer.synced:  # still before the first message start: a gap
                if self._unsynced_from is None:
                    self._unsynced_from = offset
            elif self._unsynced_from is not None:
                self._report_skip(self._unsynced_from, offset, now)
                self._unsynced_from = None
        elif discarded:
            self._report_skip(offset - discarded, offset, now)
        for start, message in messages:
            self._undelivered += len(message)
            self.stats.messages += 1
            self._events.append(ev.MessageReceived(start, message))

    # --- real time (TCP-RTM) -----------------------------------------------------------------

    def _deadline_of(self, packet: Packet, now: float) -> float:
        """When the data of ``packet`` is due for playout, learning the path's base on the way."""
        age = ((int(now * 1_000_000) - packet.tsval) & 0xFFFFFFFF) * 1e-6  # arrival - TSval, wrapped
        base = self._path_base
        if base is None or age < base:
            base = self._path_base = age
        assert self.config.playout_delay is not None
        return now - age + base + self.config.playout_delay

    def _skip_target(self) -> int | None:
        """Where a skip of the head hole would resume: the first held (message-start) segment."""
        reasm = self._reasm
        first = reasm.first_held()
        if first is None or self._framer is None:
            return first
        starts = [b for b in self._boundaries if b >= first]
        return min(starts) if starts else None

    def _plan_skip(self) -> None:
        """Arm the playout timer for the data after the head hole."""
        target = self._skip_target() if self.config.playout_delay is not None else None
        self._playout_due = None if target is None else self._reasm.marks.get(target)

    def _skip(self, target: int, now: float) -> None:
        reasm = self._reasm
        hole = reasm.rcv_nxt
        partial = self._framer.partial_start if self._framer is not None else None
        if self._framer is not None:
            self._framer.resync(target)
        self._report_skip(hole if partial is None else partial, target, now)
        self._boundaries.discard(target)
        offset = target
        boundary = True
        for chunk in reasm.skip_to(target):
            self._deliver(offset, chunk, boundary or offset in self._boundaries, now)
            offset += len(chunk)
            boundary = False
        self._boundaries = {b for b in self._boundaries if b >= reasm.rcv_nxt}
        self._plan_skip()
        self._ack_now = True  # acknowledge past the hole so the source stops repairing it

    def _report_skip(self, start: int, end: int, now: float) -> None:
        if end <= start:
            return
        self.stats.skips += 1
        self.stats.skipped_bytes += end - start
        self._events.append(ev.Skipped(start, end, now))

    # --- end of stream -------------------------------------------------------------------------

    def _handle_fin(self, packet: Packet, now: float) -> None:
        if self.state is ReceiverState.ESTABLISHED and packet.seq == self._reasm.rcv_nxt:
            self.state = ReceiverState.FINISHED
            self.length = packet.seq
            self._events.append(ev.StreamEnded(packet.seq, now))
        if self.state is ReceiverState.FINISHED:
            self._send_ack(now, fin=True)
        elif self.state is ReceiverState.ESTABLISHED:
            self._send_ack(now)

    def _handle_rst(self, packet: Packet, now: float) -> None:
        if self.state in (ReceiverState.CLOSED, ReceiverState.FINISHED):
            return  # after the FIN the source may have forgotten us; nothing was lost
        self._give_up(packet.payload.decode("utf-8", "replace") or "reset by the source", now)

    def _give_up(self, reason: str, now: float) -> None:
        """Leave the channel (reset, or a silent source) and tell the application why."""
        self.state = ReceiverState.CLOSED
        self._syn_next = None
        self._playout_due = None
        self._up.due = None
        self._delack.on_ack_sent()
        self._events.append(ev.ConnectionReset(reason, now))

    # --- acknowledgements ----------------------------------------------------------------------

    def _send_ack(self, now: float, *, fin: bool = False) -> None:
        self._ack_now = False
        reasm = self._reasm
        ack = reasm.rcv_nxt + (1 if fin else 0)
        sack = tuple(reasm.ranges.blocks_newest_first(MAX_SACK_BLOCKS)) if reasm.ranges else ()
        window = self._advertised = self.window
        data, packet = encode_ack(
            channel=self._channel_id,
            connection=self.connection,
            ack=ack,
            window=window,
            tsval=timestamp(now),
            tsecr=self._ts_recent,
            sack=sack,
        )
        self._out.append(Datagram(data, self.server, False, packet))
        self._last_ack_sent = self._reasm.rcv_nxt
        self._delack.on_ack_sent()
        self.stats.acks_sent += 1

    def _send_up(self, now: float) -> None:
        for offset, payload, flags in self._up.segments(now):
            packet = Packet(
                PacketType.UPDATA,
                self._channel_id,
                self.connection,
                offset,
                self._reasm.rcv_nxt,
                self.window,
                timestamp(now),
                self._ts_recent,
                flags,
                0,
                (),
                payload,
                b"",
            )
            self._out.append(Datagram(encode(packet), self.server, False, packet))

    def _send_control(self, kind: PacketType, now: float) -> None:
        packet = Packet(kind, self.config.channel_id, self.connection, tsval=timestamp(now))
        self._out.append(Datagram(encode(packet), self.server, False, packet))
