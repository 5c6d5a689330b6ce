"""The TCP-SMO source: a master control block over one per-receiver sender (child) per receiver.

Data is sent once to the group. Each :class:`~smocast.smo.child.Child` runs its receiver's
TCP (ACKs, SACK, RTT, congestion window, loss recovery) and returns what it needs as an
outcome, which :class:`~smocast.smo.actions.ChildActions` carries out. The channel owns the
send buffer, the timer queue and the events, runs the per-ACK path, and holds one object
per responsibility:

* admission and membership (:mod:`smocast.smo.admission`, :mod:`smocast.smo.membership`);
* new data and pacing (:mod:`smocast.smo.transmit`); unicast or multicast for each repair
  (:mod:`smocast.smo.repairs`);
* the aggregate windows: policy F's window edge (per-segment counters in the send buffer)
  and policy G's window with the pacing right edges (:mod:`smocast.smo.aggregate_window`),
  which the periodic sweep refreshes (:mod:`smocast.smo.periodic`, :mod:`smocast.smo.sweep`);
* closing (:mod:`smocast.smo.closing`: FINs, completions, drops, the end), session relay
  (:mod:`smocast.smo.session`).

Sans-IO: drive it with ``receive_datagram``/``receive_packet``/``handle_timer``, then
drain ``datagrams_to_send`` and ``next_event`` (see :class:`smocast.core.pump.Pump`). The
per-ACK work does not grow with the number of receivers.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence

from smocast.core.datagram import Address
from smocast.core.errors import LocalProtocolError
from smocast.core.timers import TimerQueue
from smocast.smo import events as ev
from smocast.smo.actions import ChildActions
from smocast.smo.admission import Admission, AdmissionGate
from smocast.smo.aggregate_window import AggregateWindow
from smocast.smo.child import Child, ChildState, History
from smocast.smo.closing import Closing
from smocast.smo.config import ChannelConfig
from smocast.smo.events import ReceiverInfo, SourceEvent
from smocast.smo.framing import MessageTooLarge, frame
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceDatagram, SourceOutbox
from smocast.smo.periodic import Periodic
from smocast.smo.probing import ChannelProbing, probe_plan
from smocast.smo.repairs import RepairRouter
from smocast.smo.resets import Resets
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.session import SessionRelay
from smocast.smo.stats import ChannelStats
from smocast.smo.sweep import Sweeper
from smocast.smo.transmit import Transmitter
from smocast.wire import DecodeError, Packet, PacketType, decode, delay_sample
from smocast.wire.codec import HEADER_SIZE, PLAIN_ACK, PLAIN_ACK_HEAD

__all__ = ["Channel", "ChannelStats", "History"]

_ESTABLISHED = ChildState.ESTABLISHED  # per ACK: a module name is cheaper to load than an Enum member


class Channel:
    """The source of one TCP-SMO channel (S, G): the master control block."""

    def __init__(
        self,
        group: Address,
        config: ChannelConfig | None = None,
        rng: random.Random | None = None,
        history: History | None = None,
    ) -> None:
        """``history(offset, length)``: earlier stream bytes the buffer no longer holds (a file, say),
        so receivers may resume at any offset. ``rng`` draws the handshake cookies' secrets: on a
        real network back it by the OS (``random.SystemRandom()``); seeded, a simulation is
        deterministic (without it, a fixed seed is used)."""
        self.group = group
        self.config = cfg = config or ChannelConfig()
        self.stats = ChannelStats()
        self._channel_id = cfg.channel_id
        self._mss = cfg.mss
        self._buf = SendBuffer(cfg.mss)
        self._members = Membership()
        self._pacing = self._members.pacing  # read on every ACK
        self._timers = TimerQueue()
        self._out = SourceOutbox(cfg.channel_id, group, cfg.keepalive)
        self._admission = Admission(
            cfg, self._buf, self._members, self._timers, self._out, history, rng or random.Random(0), self.stats
        )
        self._resets = Resets(self._out, self.stats)
        self._transmit = Transmitter(cfg, self._buf, self._out)
        self._repairs = RepairRouter(
            cfg.repair_multicast_fraction, self._members, self._buf, self._out, self._transmit, self.stats
        )
        self._sweeper = Sweeper(cfg, self._members, self._buf, history is not None)
        self._window = AggregateWindow(
            cfg, self._buf, self._members, self._sweeper.rates, self._transmit.initial_window
        )
        self._closing = Closing(self._buf, self._members, self._sweeper, self._out, self._resets)
        self._session = SessionRelay(cfg.session_limit, cfg.session_message_limit, self._out)
        self._events: deque[SourceEvent] = deque()
        self._actions = ChildActions(
            self._transmit, self._window, self._closing, self._repairs, self._admission, self._events
        )
        parts = (self._sweeper, self._window, self._transmit, self._closing)
        self._periodic = Periodic(cfg, self._timers, self._buf, self._members, parts, self._actions)
        self._history = history
        self._probing = ChannelProbing(probe_plan(cfg), self._buf, self._timers, self._out)
        self._members.on_add, self._members.on_remove = self._probing.joined, self._probing.removed

    # --- application API -------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview, *, message_start: bool = False) -> None:
        """Queue bytes for the channel. With ``message_start`` they begin a new message."""
        if self._closing.requested:
            raise LocalProtocolError("write() after close()")
        self._buf.write(data, message_start=message_start)

    def send_message(self, message: bytes | bytearray | memoryview) -> None:
        """Queue one whole message (framing mode): receivers get it whole, or a gap notice."""
        self.write(frame(message), message_start=True)

    def close(self) -> None:
        """No more data: each receiver gets a FIN once it has acknowledged everything."""
        self._closing.close()
        self._transmit.closed()

    def drop(self, receiver: int, now: float, detail: str = "dropped by the application") -> None:
        """Dis-associate ``receiver``: send it RST and remove it; the others go on."""
        child = self._members.by_index(receiver)
        if child is None:
            raise LocalProtocolError(f"no receiver {receiver}")
        self._actions.drop(child, ev.DropReason.APPLICATION, detail, now)

    def unreachable(self, address: Address, now: float) -> None:
        """Nothing listens at ``address`` (the runtime read an ICMP port unreachable): its receivers
        are dropped (``DropReason.UNREACHABLE``) unless they acknowledge something within a few
        round trips (:mod:`smocast.smo.unreachable`). Other addresses are ignored. O(1)."""
        children = self._members.at_address(address)
        if children:
            self._periodic.unreachable(children, now)

    @property
    def started(self) -> bool:
        """Admission is satisfied: data flows (always, in continuous admission)."""
        return self._admission.started

    @property
    def live(self) -> int:
        """Established receivers."""
        return self._members.live

    @property
    def holders(self) -> int:
        """Receivers that hold new data back: established, or mid-handshake."""
        return self._members.holders

    @property
    def pending_bytes(self) -> int:
        """Bytes written but not yet sent once; keep it bounded for backpressure."""
        return self._buf.pending

    @property
    def snd_nxt(self) -> int:
        return self._buf.snd_nxt

    @property
    def window_edge(self) -> int:
        """The channel's snd_una under the window-advance policy F."""
        return self._buf.edge

    @property
    def buffer_base(self) -> int:
        """The oldest byte still held for repairs."""
        return self._buf.base

    @property
    def smallest_right_edge(self) -> int | None:
        """How far new data may go: the smallest right edge of the pacing receivers (None: nobody paces)."""
        return self._members.smallest_edge()

    @property
    def has_history(self) -> bool:
        """True when receivers can be served from before the send buffer (see ``history``)."""
        return self._history is not None

    @property
    def finished(self) -> bool:
        return self._closing.finished

    @property
    def end(self) -> int | None:
        """The stream's final length, once closed and everything written was sent once."""
        return self._closing.end

    @property
    def completed(self) -> int:
        """Receivers that acknowledged the whole stream and the FIN."""
        return self._closing.completed

    @property
    def dropped(self) -> int:
        """Receivers the channel reset and removed."""
        return self._closing.dropped

    @property
    def channel_cwnd(self) -> int:
        """Policy G's channel window, as the last sweep measured it."""
        return self._window.cwnd

    @property
    def probing(self) -> ChannelProbing:
        """Path MTU discovery: the segment size now, each receiver's confirmed size (read-only)."""
        return self._probing

    def receivers(self) -> list[ReceiverInfo]:
        """A snapshot of every receiver's accounting."""
        return [self._members.info(c) for c in self._members]

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagrams(self, batch: Sequence[tuple[bytes | memoryview, Address]], now: float) -> None:
        """Datagrams that arrived by ``now``, each ``(data, source)`` (``data`` may be a view: nothing keeps
        it); then run the pump once. A plain ACK of a known receiver is unpacked in this loop."""
        unpack, plain, size, channel_id = PLAIN_ACK.unpack_from, PLAIN_ACK_HEAD, HEADER_SIZE, self._channel_id
        find, handle_ack = self._members.find, self._handle_ack
        acks = 0
        for data, source in batch:
            if len(data) == size:
                head, channel, connection, seq, ack, window, tsecr, length = unpack(data)
                if head == plain and not length and channel == channel_id:
                    child = find((source, connection))
                    if child is not None:
                        acks += 1
                        handle_ack(child, ack, window, tsecr, (), now, seq)
                        continue
            try:
                packet = decode(data)
            except DecodeError:
                self.stats.malformed += 1
                continue
            self.receive_packet(packet, source, now)
        self.stats.acks_processed += acks

    def receive_datagram(self, data: bytes | memoryview, source: Address, now: float) -> None:
        """Decode and handle one datagram; malformed ones are counted and dropped."""
        self.receive_datagrams(((data, source),), now)

    def receive_packet(self, packet: Packet, source: Address, now: float) -> None:
        """Handle one decoded packet from ``source``."""
        if packet.channel != self._channel_id:
            self.stats.foreign += 1
            return
        kind = packet.type
        if kind is PacketType.SYN:
            self._handle_syn(packet, source, now)
            return
        child = self._members.find((source, packet.connection))
        if kind is PacketType.ACK:
            if child is None:
                self._resets.unknown(packet, source)
            else:
                self.stats.acks_processed += 1
                self._handle_ack(child, packet.ack, packet.window, packet.tsecr, packet.sack, now, packet.seq)
        elif kind is PacketType.RST:
            if child is not None:
                self._events.append(self._closing.left(child, packet.payload, now))
        elif kind is PacketType.PROBE_ACK:
            if child is not None:
                self._probing.on_probe_ack(child, packet.seq, packet.window, now)
        elif kind is PacketType.UPDATA:
            if child is not None and child.established:
                self._handle_up(child, packet, now)
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[SourceDatagram]:
        """Everything to send now: control packets, repairs, then new data as the window allows."""
        self._periodic.start(now)
        if self._admission.started:
            self._send_new_data(now)
        if self._closing.requested:
            self._check_finished(now)
        return self._out.take()

    def next_deadline(self) -> float | None:
        deadline = self._timers.next_deadline()
        wakeup = self._transmit.pacing_wakeup
        if wakeup is not None and (deadline is None or wakeup < deadline):
            return wakeup
        return deadline

    def handle_timer(self, now: float) -> None:
        self._transmit.on_timer(now)
        self._timers.run_due(now)

    def next_event(self) -> SourceEvent | None:
        return self._events.popleft() if self._events else None

    # --- admission -----------------------------------------------------------------------------

    def set_admission_gate(self, gate: AdmissionGate | None) -> None:
        """Make every SYN with a valid cookie also pass ``gate`` (the secure mode's key exchange)."""
        self._admission.gate = gate

    def _handle_syn(self, packet: Packet, source: Address, now: float) -> None:
        refused = self._admission.on_syn(packet, source, self._actions.on_timer, now)
        if refused is not None:
            self._events.append(refused)

    def _establish(self, child: Child, window: int, tsecr: int, now: float) -> None:
        child.establish(window, tsecr, now)
        if tsecr:
            self._window.first_rtt(child.rtt.srtt)
        self._members.established(child)
        self._probing.established(child, now, self._probing.on_timer)
        self._window.start_pacing(child)
        self._sweeper.track(child, now)
        self._actions.act(child, child.repair_on_join(now), now)
        if child.state is ChildState.CLOSED:
            return
        self._window.time_or_park(child, now)
        self._events.extend(self._admission.on_established(child, now))

    def _send_new_data(self, now: float) -> None:
        transmit, members, stats, window = self._transmit, self._members, self.stats, self._window
        if transmit.catch_up_line:
            self._repairs.serve_held_catch_up(now)  # held catch-up goes before new data, as repairs do
        if not transmit.open(now, members.smallest_edge(), window.cwnd, window.rtt):
            return
        while (segment := transmit.send_one(now, members.holders)) is not None:
            stats.original_segments += 1
            stats.bytes_original += segment.end - segment.start
            if window.idle:
                window.resume_idle(now)

    # --- acknowledgements ----------------------------------------------------------------------

    def _handle_ack(
        self, child: Child, ack: int, window: int, tsecr: int, sack: tuple[tuple[int, int], ...], now: float, seq: int
    ) -> None:
        """An ACK from ``child``, counted by the caller; ``seq`` may be a delay sample (``wire.DELAY_SAMPLE``)."""
        if seq and child.cc.wants_delay and (sample := delay_sample(seq)) is not None:
            child.cc.on_delay_sample(sample, now)
        if child.state is not _ESTABLISHED and not self._ack_outside_established(child, ack, window, tsecr, now):
            return
        buf = self._buf
        old = child.una
        if ack > buf.snd_nxt or ack < old:
            return  # acknowledges data never sent, or is older than what we know
        count_from = child.count_from
        pacing = self._pacing
        key = pacing.value_of.get(child.index)  # None when it does not pace
        if not sack and key is not None and child.plain_ack(ack, window, tsecr, now):
            buf.on_acked(old if old >= count_from else count_from, ack)
            aggregate = self._window
            if ack >= buf.snd_nxt:
                aggregate.park(child, now)
            cwnd = child.cc.cwnd if not aggregate.fair else aggregate.cwnd
            edge = ack + (cwnd if cwnd < window else window)  # Child.right_edge, with nothing SACKed
            if edge != key:
                pacing.move(child.index, key, edge)
            if ack == self._closing.end:
                self._closing.send_fin(child, now)
            return
        outcome = child.on_ack(ack, window, tsecr, sack, now)
        if ack > count_from:
            buf.on_acked(max(old, count_from), ack)
        if ack > old:
            self._window.on_acked_more(child, ack, now)
        self._actions.act(child, outcome, now)
        self._window.sync_edge(child)
        if child.una == self._closing.end and child.state is _ESTABLISHED:
            self._closing.send_fin(child, now)

    def _ack_outside_established(self, child: Child, ack: int, window: int, tsecr: int, now: float) -> bool:
        """The handshake's last ACK, or the ACK of the FIN; True when the ACK needs more handling."""
        state = child.state
        if state is ChildState.SYN_RECEIVED:
            if ack != child.start:
                return False
            self._establish(child, window, tsecr, now)
            return not child.closed
        if state is ChildState.FIN_SENT and ack == self._buf.snd_nxt + 1:
            self._events.append(self._closing.complete(child, now))
            return False
        return state is ChildState.FIN_SENT

    def _handle_up(self, child: Child, packet: Packet, now: float) -> None:
        """Session relay: a receiver's own stream, up its connection, within the channel's budget."""
        try:
            self._events.extend(self._session.offer(child, packet, now))
        except MessageTooLarge as exc:
            self._actions.drop(child, ev.DropReason.MESSAGE_TOO_LARGE, f"session {exc}", now)

    # --- closing ------------------------------------------------------------------------------

    def _check_finished(self, now: float) -> None:
        finished = self._closing.finish(self._admission.started, now)
        if finished is not None:
            self._periodic.stop()
            self._events.append(finished)
