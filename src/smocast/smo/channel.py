"""The TCP-SMO source: a master control block over one per-receiver sender (child) per receiver.

Data is sent once to the group. Each :class:`~smocast.smo.child.Child` runs its receiver's
TCP (ACKs, SACK, RTT, congestion window, loss recovery) and says what it needs; the channel
acts on it. The channel owns:

* membership and admission (:mod:`smocast.smo.admission`, :mod:`smocast.smo.membership`);
* the send buffer, new data and pacing (:mod:`smocast.smo.sendbuf`, :mod:`smocast.smo.transmit`);
* the choice of unicast or multicast for each repair;
* the aggregate windows: policy F's window edge (per-segment counters in the send buffer)
  and policy G's congestion window (the smallest pacing right edge, and the periodic
  :class:`~smocast.smo.sweep.Sweeper`);
* closing.

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
from smocast.core.timers import Timer, TimerQueue
from smocast.smo import events as ev
from smocast.smo.admission import Admission, AdmissionGate
from smocast.smo.child import Child, ChildState, History, Outcome
from smocast.smo.config import ChannelConfig
from smocast.smo.events import ReceiverInfo, SourceEvent
from smocast.smo.framing import MessageTooLarge, frame
from smocast.smo.membership import Membership
from smocast.smo.outbox import SourceDatagram, SourceOutbox
from smocast.smo.repairs import RepairRouter
from smocast.smo.resets import Resets
from smocast.smo.sendbuf import SendBuffer
from smocast.smo.stats import ChannelStats
from smocast.smo.sweep import ChannelWindow, Dissociate, StopPacing, Sweeper
from smocast.smo.transmit import Transmitter
from smocast.smo.unreachable import UnreachableWatch
from smocast.smo.uplink import UpBudget, UpReceiver
from smocast.wire import (
    HEADER_SIZE,
    SACK_BLOCK_SIZE,
    DecodeError,
    Packet,
    PacketType,
    decode,
    plain_ack_fields,
    reset_reason,
)

__all__ = ["Channel", "ChannelStats", "History"]

REFUSED_SAMPLE = 16  # refusals reported as events; the rest are only counted (stats.refused)


class Channel:
    """The source of one TCP-SMO channel (S, G): the master control block."""

    def __init__(
        self,
        group: Address,
        config: ChannelConfig | None = None,
        rng: random.Random | None = None,
        history: History | None = None,
    ) -> None:
        """``history(offset, length)`` returns earlier stream bytes the send buffer no longer
        holds (a file on disk, say); with it, receivers may resume from any offset. ``rng`` is
        the channel's source of randomness: it draws the secrets of the handshake's cookies,
        so on a real network it must be backed by the OS (``random.SystemRandom()``); a
        seeded one keeps a simulation deterministic. Without it, a fixed seed is used."""
        self.group = group
        self.config = cfg = config or ChannelConfig()
        self.stats = ChannelStats()
        self._channel_id = cfg.channel_id
        self._mss = cfg.mss
        self._slowest = cfg.window_policy.kind == "slowest"
        self._fair = cfg.cwnd_policy.kind == "fair"
        self._buf = SendBuffer(cfg.mss)
        self._members = Membership()
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
        self._up_budget = UpBudget(cfg.session_limit)  # every receiver's session relay, together
        self._sweep_timer = Timer(self._on_sweep)
        self._keepalive_timer = Timer(self._on_keepalive)
        self._unreachable = UnreachableWatch(self._buf, self._timers, self._on_unreachable_check)
        self._idle: list[Child] = []  # children with nothing outstanding: arm them on the next send
        self._events: deque[SourceEvent] = deque()
        self._history = history
        self._closing = False
        self._finished = False
        self.end: int | None = None  # final stream length, once closed and fully segmented
        self.channel_rtt: float | None = None
        self.channel_cwnd = self._transmit.initial_window  # policy G's value, refreshed by the sweep
        self.completed = 0
        self.dropped = 0

    # --- application API -------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview, *, message_start: bool = False) -> None:
        """Queue bytes for the channel. With ``message_start`` they begin a new message."""
        if self._closing:
            raise LocalProtocolError("write() after close()")
        self._buf.write(data, message_start=message_start)

    def send_message(self, message: bytes | bytearray | memoryview) -> None:
        """Queue one whole message (framing mode): receivers get it whole, or a gap notice."""
        self.write(frame(message), message_start=True)

    def close(self) -> None:
        """No more data: each receiver gets a FIN once it has acknowledged everything."""
        self._closing = True

    def drop(self, receiver: int, now: float, detail: str = "dropped by the application") -> None:
        """Dis-associate ``receiver``: send it RST and remove it; the others go on."""
        child = self._members.by_index(receiver)
        if child is None:
            raise LocalProtocolError(f"no receiver {receiver}")
        self._drop(child, ev.DropReason.APPLICATION, detail, now)

    def unreachable(self, address: Address, now: float) -> None:
        """Nothing listens at ``address`` any more: the runtime read an ICMP port unreachable.

        The receivers there are dropped (``DropReason.UNREACHABLE``) unless they acknowledge
        something within a few round trips (:mod:`smocast.smo.unreachable`); receivers that
        are slow but alive keep the progress timeout. Other addresses are ignored. O(1).
        """
        children = self._members.at_address(address)
        if children:
            self._unreachable.report(children, now)

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
        return self._finished

    def receivers(self) -> list[ReceiverInfo]:
        """A snapshot of every receiver's accounting."""
        return [self._info(c) for c in self._members]

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagrams(self, batch: Sequence[tuple[bytes | memoryview, Address]], now: float) -> None:
        """A batch of datagrams that arrived by ``now``, each ``(data, source)``: the same as
        :meth:`receive_datagram` for each in turn (``data`` may be a view of the runtime's
        buffer; nothing keeps it past the call). Then run the pump once."""
        receive = self.receive_datagram
        for data, source in batch:
            receive(data, source, now)

    def receive_datagram(self, data: bytes | memoryview, source: Address, now: float) -> None:
        """Decode and handle one datagram; malformed ones are counted and dropped."""
        fields = plain_ack_fields(data)
        if fields is not None and fields[0] == self._channel_id:
            child = self._members.find((source, fields[1]))
            if child is not None:
                self._handle_ack(child, fields[2], fields[3], fields[4], (), now)
                return
        try:
            packet = decode(data)
        except DecodeError:
            self.stats.malformed += 1
            return
        self.receive_packet(packet, source, now)

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
                size = HEADER_SIZE + SACK_BLOCK_SIZE * len(packet.sack) + len(packet.payload) + len(packet.trailer)
                self._resets.unknown(source, packet.connection, packet.ack, size)
            else:
                self._handle_ack(child, packet.ack, packet.window, packet.tsecr, packet.sack, now)
        elif kind is PacketType.RST:
            if child is not None:
                self._remove(child)
                code, text = reset_reason(packet.payload)
                self._events.append(ev.ReceiverLeft(child.index, child.address, now, self._info(child), code, text))
        elif kind is PacketType.UPDATA:
            if child is not None and child.established:
                self._handle_up(child, packet, now)
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[SourceDatagram]:
        """Everything to send now: control packets, repairs, then new data as the window allows."""
        if self._sweep_timer.due is None and len(self._members):
            self._timers.arm(self._sweep_timer, now + self.config.sweep_interval)
            if self.config.keepalive is not None and self._keepalive_timer.due is None:
                self._timers.arm(self._keepalive_timer, now + self.config.keepalive)
        if self._admission.started:
            self._send_new_data(now)
        if self._closing:
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
        refused = self._admission.on_syn(packet, source, self._on_child_timer, now)
        if refused is not None and self.stats.refused <= REFUSED_SAMPLE:
            self._events.append(refused)  # a bounded sample: the rest are counted only

    def _establish(self, child: Child, window: int, tsecr: int, now: float) -> None:
        child.establish(window, tsecr, now)
        if tsecr and self.channel_rtt is None:
            self.channel_rtt = child.rtt.srtt
        self._members.established(child)
        self._members.start_pacing(child, child.right_edge(self._window_of(child)))
        self._sweeper.track(child, now)
        self._act(child, child.repair_on_join(now), now)
        if child.state is ChildState.CLOSED:
            return
        if child.una < self._buf.snd_nxt:
            child.arm_timer(now)
        else:
            self._park(child, now)
        self._events.append(ev.ReceiverJoined(child.index, child.address, child.start, now))
        started = self._admission.on_established(now)
        if started is not None:
            self._events.append(started)

    # --- new data ------------------------------------------------------------------------------

    def _send_new_data(self, now: float) -> None:
        transmit, members, stats = self._transmit, self._members, self.stats
        if not transmit.open(now, members.smallest_edge(), self.channel_cwnd, self.channel_rtt):
            return
        while (segment := transmit.send_one(now, members.holders)) is not None:
            stats.original_segments += 1
            stats.bytes_original += segment.end - segment.start
            if self._idle:
                self._resume_idle(now)

    # --- acknowledgements ----------------------------------------------------------------------

    def _handle_ack(
        self, child: Child, ack: int, window: int, tsecr: int, sack: tuple[tuple[int, int], ...], now: float
    ) -> None:
        self.stats.acks_processed += 1
        if child.state is not ChildState.ESTABLISHED and not self._ack_outside_established(
            child, ack, window, tsecr, now
        ):
            return
        buf = self._buf
        old = child.una
        if ack > buf.snd_nxt or ack < old:
            return  # acknowledges data never sent, or is older than what we know
        count_from = child.count_from
        start = old if old >= count_from else count_from
        repaired = bool(buf.multicast_ends) and ack > count_from and buf.repaired_by_multicast(start, ack)
        pacing = self._members.pacing
        key = pacing.value_of.get(child.index)  # None when it does not pace
        if not sack and key is not None and child.plain_ack(ack, window, tsecr, repaired, now):
            buf.on_acked(start, ack)
            if ack >= buf.snd_nxt:
                self._park(child, now)
            edge = ack + min(child.cc.cwnd if not self._fair else self.channel_cwnd, window)
            if edge != key:
                pacing.move(child.index, key, edge)
            if ack == self.end:
                self._send_fin(child, now)
            return
        outcome = child.on_ack(ack, window, tsecr, sack, repaired, now)
        if ack > count_from:
            buf.on_acked(max(old, count_from), ack)
        if ack > old:
            self._on_acked_more(child, ack, now)
        self._act(child, outcome, now)
        self._sync_edge(child)
        if child.una == self.end and child.state is ChildState.ESTABLISHED:
            self._send_fin(child, now)

    def _ack_outside_established(self, child: Child, ack: int, window: int, tsecr: int, now: float) -> bool:
        """The handshake's last ACK, or the ACK of the FIN; True when the ACK needs more handling."""
        state = child.state
        if state is ChildState.SYN_RECEIVED:
            if ack != child.start:
                return False
            self._establish(child, window, tsecr, now)
            return not child.closed
        if state is ChildState.FIN_SENT and ack == self._buf.snd_nxt + 1:
            self._complete(child, now)
            return False
        return state is ChildState.FIN_SENT

    def _on_acked_more(self, child: Child, ack: int, now: float) -> None:
        """A general-path ACK moved ``una``: a receiver left behind may pace again; park when done."""
        caught_up = ack >= self._buf.edge and child.rwnd >= self._mss  # and its window is open
        rates = self._sweeper.rates
        if ack >= self._buf.snd_nxt:
            rates.caught_up(child)
        if caught_up and not self._members.is_pacing(child) and not rates.is_slow(child):
            self._members.start_pacing(child, child.right_edge(self._window_of(child)))
        if ack >= self._buf.snd_nxt:
            self._park(child, now)

    def _handle_up(self, child: Child, packet: Packet, now: float) -> None:
        """Session relay: a receiver's own stream, up its connection, within the channel's budget."""
        up = child.up
        if up is None:
            up = child.up = UpReceiver(self._up_budget, self.config.session_message_limit)
        try:
            messages = up.offer(packet.seq, packet.payload)
        except MessageTooLarge as exc:
            self._drop(child, ev.DropReason.MESSAGE_TOO_LARGE, f"session {exc}", now)
            return
        for message in messages:
            self._events.append(ev.SessionData(child.index, child.address, message, now))
        self._out.up_ack(child.address, child.connection, up.acked, packet.tsval, now)

    # --- acting on what a child needs ----------------------------------------------------------

    def _act(self, child: Child, outcome: Outcome, now: float) -> None:
        """Do what ``child`` asked for, in the order :class:`~smocast.smo.child.Outcome` gives."""
        if outcome.congestion:
            self._transmit.congestion_seen()
        if outcome.stop_pacing and not self._slowest:
            self._members.stop_pacing(child)
        if outcome.drop is not None:
            self._drop(child, outcome.drop[0], outcome.drop[1], now)
            return
        repairs = self._repairs
        if outcome.history:
            repairs.from_history(child, outcome.history, now)
        for segment in outcome.repairs:
            repairs.route(segment, child, now)
        if outcome.probe is not None:
            repairs.to_child(outcome.probe, child, now)
        if outcome.syn_ack:
            self._admission.send_syn_ack(child, 0, now)
        if outcome.fin:
            self._send_fin(child, now)

    def _on_child_timer(self, child: Child, now: float) -> None:
        for outcome in child.on_timer(now):
            self._act(child, outcome, now)
            if child.state is ChildState.CLOSED:
                return
            if outcome.stop_pacing:  # a retransmission timeout changed its window
                self._sync_edge(child)

    # --- the pacing aggregate ------------------------------------------------------------------

    def _window_of(self, child: Child) -> int:
        return self.channel_cwnd if self._fair else child.cc.cwnd

    def _sync_edge(self, child: Child) -> None:
        self._members.move_edge(child, child.right_edge(self._window_of(child)))

    def _park(self, child: Child, now: float) -> None:
        """Everything sent is acknowledged: no timer until new data goes out (see _resume_idle)."""
        child.park(now)
        self._idle.append(child)

    def _resume_idle(self, now: float) -> None:
        """New data went out: children that had everything acked now have something to time."""
        idle, self._idle = self._idle, []
        for child in idle:
            if child.state is ChildState.ESTABLISHED and not child.timer.armed:
                child.resume(now)

    # --- closing -------------------------------------------------------------------------------

    def _send_fin(self, child: Child, now: float) -> None:
        self._out.fin(child.address, child.connection, self._buf.snd_nxt, now)
        child.fin_sent(now)

    def _complete(self, child: Child, now: float) -> None:
        self._remove(child)
        self.completed += 1
        self._events.append(
            ev.ReceiverCompleted(child.index, child.address, child.una - child.start, now, self._info(child))
        )

    def _check_finished(self, now: float) -> None:
        """Fix the stream's end once everything is sent once, FIN the caught-up, and finish."""
        if self._finished or not self._closing or not self._admission.started or self._buf.pending:
            return
        if self.end is None:
            self.end = self._buf.snd_nxt
            for child in [c for c in self._members if c.state is ChildState.ESTABLISHED and c.una == self.end]:
                self._send_fin(child, now)
        if len(self._members):
            return
        self._finished = True
        self._timers.disarm(self._sweep_timer)
        self._timers.disarm(self._keepalive_timer)
        self._events.append(ev.ChannelFinished(self.completed, self.dropped, now))

    # --- membership ----------------------------------------------------------------------------

    def _drop(self, child: Child, reason: ev.DropReason, detail: str, now: float) -> None:
        if child.state is ChildState.CLOSED:
            return
        self._resets.reset(child.address, child.connection, child.una, reason.value)
        self._remove(child)
        self.dropped += 1
        self._events.append(ev.ReceiverDropped(child.index, child.address, reason, detail, now, self._info(child)))

    def _remove(self, child: Child) -> None:
        if child.state is ChildState.CLOSED:
            return
        self._buf.on_receiver_removed(max(child.una, child.count_from))
        self._members.remove(child)
        self._sweeper.forget(child)
        child.close()

    def _info(self, child: Child) -> ReceiverInfo:
        return child.info(pacing=self._members.is_pacing(child))

    # --- periodic work -------------------------------------------------------------------------

    def _on_keepalive(self, now: float) -> None:
        """Nothing multicast for a while: tell the group where the stream stands."""
        interval = self.config.keepalive
        if interval is None or self._finished or not len(self._members):
            return
        self._timers.arm(self._keepalive_timer, self._transmit.keepalive(interval, now))

    def _on_unreachable_check(self, now: float) -> None:
        for child, detail in self._unreachable.due(now):
            self._drop(child, ev.DropReason.UNREACHABLE, detail, now)

    def _on_sweep(self, now: float) -> None:
        for decision in self._sweeper.run(self.channel_rtt, self.channel_cwnd, now):
            match decision:
                case Dissociate(child, reason, detail):
                    self._drop(child, reason, detail, now)
                case StopPacing(child):
                    self._members.stop_pacing(child)
                case ChannelWindow(rtt, cwnd):
                    self._set_channel_window(rtt, cwnd)
        if len(self._members):
            self._timers.arm(self._sweep_timer, now + self.config.sweep_interval)

    def _set_channel_window(self, rtt: float | None, cwnd: int) -> None:
        self.channel_rtt = rtt
        if cwnd == self.channel_cwnd:
            return
        self.channel_cwnd = cwnd
        if self._fair:  # the channel window is every pacing receiver's: their right edges moved
            for child in self._members:
                if child.established and self._members.is_pacing(child):
                    self._sync_edge(child)
