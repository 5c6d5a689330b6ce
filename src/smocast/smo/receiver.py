"""The TCP-SMO receiver: one TCP-like connection to the source, fed by the group's multicast.

It opens the connection (receiver-initiated three-way handshake), takes data from the group
and from unicast repairs alike, delivers the stream in order and exactly once, and ACKs
with SACK blocks and its receive window. RST from the source means: leave the channel.
FIN means the stream is complete.

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
from smocast.smo.reassembly import Reassembly
from smocast.wire import FLAG_RESUME, MAX_SACK_BLOCKS, DecodeError, Packet, PacketType, decode, encode, encode_ack


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


class Receiver:
    """One receiver of a TCP-SMO channel whose source is at ``server``."""

    def __init__(self, server: Address, config: ReceiverConfig | None = None,
                 rng: random.Random | None = None) -> None:
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
        self._out: list[Datagram] = []
        self._events: deque[object] = deque()
        self._ack_now = False

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

    @property
    def rcv_nxt(self) -> int:
        """The next stream byte expected: everything below it was delivered."""
        return self._reasm.rcv_nxt

    @property
    def window(self) -> int:
        """The receive window advertised to the source."""
        used = self._reasm.held_bytes + self._undelivered
        return max(0, min(self.config.receive_buffer - used, 0xFFFFFFFF))

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
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        if self._ack_now:
            self._send_ack(now)
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    def next_deadline(self) -> float | None:
        syn, delack = self._syn_next, self._delack.deadline
        if syn is None:
            return delack
        return syn if delack is None or syn < delack else delack

    def handle_timer(self, now: float) -> None:
        if self._syn_next is not None and now >= self._syn_next:
            self._on_syn_timer(now)
        if self._delack.due(now) and self.state is ReceiverState.ESTABLISHED:
            self._send_ack(now)

    def next_event(self) -> object | None:
        if not self._events:
            return None
        event = self._events.popleft()
        if isinstance(event, ev.DataReceived):
            self._undelivered -= len(event.data)
        return event

    # --- handshake -------------------------------------------------------------------------

    def _send_syn(self, now: float) -> None:
        resume = self.config.resume_from
        packet = Packet(PacketType.SYN, self.config.channel_id, self.connection,
                        ack=resume or 0, window=self.window, tsval=timestamp(now),
                        flags=FLAG_RESUME if resume is not None else 0)
        self._out.append(Datagram(encode(packet), self.server, False, packet))
        self._syn_next = now + self._syn_interval

    def _on_syn_timer(self, now: float) -> None:
        assert self._syn_first is not None
        if now - self._syn_first >= self.config.connect_timeout:
            self._syn_next = None
            self.state = ReceiverState.CLOSED
            self._events.append(ev.ConnectFailed(
                f"no answer from {self.server[0]}:{self.server[1]} within {self.config.connect_timeout:g} s", now))
            return
        self._syn_interval = min(self._syn_interval * 2, 4.0)
        self._send_syn(now)

    def _handle_syn_ack(self, packet: Packet, now: float) -> None:
        if self.state is ReceiverState.SYN_SENT:
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
        state = self.state
        if state is not ReceiverState.ESTABLISHED:
            if state is ReceiverState.SYN_SENT and len(self._early) < self.config.max_early_segments:
                self._early.append(packet)
            elif state is ReceiverState.FINISHED and packet.type is PacketType.REPAIR:
                self._ack_now = True
            return
        stats = self.stats
        stats.segments += 1
        seq = packet.seq
        reasm = self._reasm
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
        offset = reasm.rcv_nxt
        for chunk in reasm.offer(seq, packet.payload):
            self._deliver(offset, chunk)
            offset += len(chunk)
        if self._delack.on_data(in_order and not filled_hole, packet.ack_every or 2, now):
            self._ack_now = True

    def _next_in_order(self, packet: Packet, now: float) -> None:
        """The common case, kept short: the next expected segment, nothing held out of order."""
        payload = packet.payload
        reasm = self._reasm
        offset = packet.seq
        reasm.rcv_nxt = offset + len(payload)
        if offset <= self._last_ack_sent:
            self._ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        if payload:
            self._deliver(offset, payload)
        if self._delack.on_data(True, packet.ack_every or 2, now):
            self._ack_now = True

    def _deliver(self, offset: int, chunk: bytes) -> None:
        self.stats.bytes_delivered += len(chunk)
        self._undelivered += len(chunk)
        self._events.append(ev.DataReceived(offset, chunk))

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
        self.state = ReceiverState.CLOSED
        self._syn_next = None
        self._delack.on_ack_sent()
        reason = packet.payload.decode("utf-8", "replace") or "reset by the source"
        self._events.append(ev.ConnectionReset(reason, now))

    # --- acknowledgements ----------------------------------------------------------------------

    def _send_ack(self, now: float, *, fin: bool = False) -> None:
        self._ack_now = False
        reasm = self._reasm
        ack = reasm.rcv_nxt + (1 if fin else 0)
        sack = tuple(reasm.ranges.blocks_newest_first(MAX_SACK_BLOCKS)) if reasm.ranges else ()
        data, packet = encode_ack(self.config.channel_id, self.connection, ack, self.window, timestamp(now),
                                  self._ts_recent, sack)
        self._out.append(Datagram(data, self.server, False, packet))
        self._last_ack_sent = self._reasm.rcv_nxt
        self._delack.on_ack_sent()
        self.stats.acks_sent += 1

    def _send_control(self, kind: PacketType, now: float) -> None:
        packet = Packet(kind, self.config.channel_id, self.connection, tsval=timestamp(now))
        self._out.append(Datagram(encode(packet), self.server, False, packet))
