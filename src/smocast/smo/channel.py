"""The TCP-SMO source: a master control block over one child control block per receiver.

Data is sent once to the group; each child tracks its receiver's ACKs, does its own fast
retransmit and timeout, and asks for repairs, which go by unicast or, when enough receivers
miss the same segment, by multicast. The policies of :mod:`smocast.smo.policies` derive the
channel's window edge, congestion window and RTT from the children's.

Two windows, decoupled as Levine's taxonomy asks: the *memory* window (policy F) decides
when data may leave the send buffer; the *congestion* window (policy G) decides how much may
be in flight. Under ``G = min`` each pacing receiver's cwnd bounds its own un-acked,
un-SACKed bytes (RFC 6675's pipe), so the channel may send up to the smallest of the
receivers' right edges ``una + SACKed + cwnd``; one receiver's hole does not stall the rest.

Sans-IO: drive it with ``receive_datagram``/``handle_timer`` and drain ``datagrams_to_send``
and ``next_event``. The per-ACK work does not grow with the number of receivers: the window
edge comes from per-segment counters (:mod:`smocast.smo.sendbuf`) and the smallest right
edge from a :class:`~smocast.core.aggregate.CountedMin`; anything that needs all receivers
runs in a periodic sweep (:mod:`smocast.smo.sweep`).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from smocast.core.aggregate import CountedMin
from smocast.core.congestion import INITIAL_WINDOW_SEGMENTS, make_controller
from smocast.core.datagram import Address, Datagram
from smocast.core.errors import LocalProtocolError
from smocast.core.pacing import Pacer
from smocast.core.rtt import RttEstimator
from smocast.core.timers import Timer, TimerQueue
from smocast.core.timestamps import elapsed_since, timestamp
from smocast.smo import events as ev
from smocast.smo.child import Child, ChildState
from smocast.smo.config import ChannelConfig
from smocast.smo.events import ReceiverInfo
from smocast.smo.framing import frame
from smocast.smo.recovery import lost_segments, note_missing
from smocast.smo.sendbuf import Segment, SendBuffer
from smocast.smo.sweep import sweep
from smocast.smo.timing import next_due, probe_due, retransmission_due
from smocast.smo.uplink import UpReceiver
from smocast.wire import (
    FLAG_RESUME,
    HEADER_SIZE,
    DecodeError,
    Packet,
    PacketType,
    decode,
    encode,
    encode_ack,
    encode_data,
    plain_ack_fields,
)

History = Callable[[int, int], bytes]
"""``history(offset, length)``: up to ``length`` stream bytes from ``offset`` (b"" when none)."""

PACING_GAIN_SLOW_START = 2.0  # as Linux's sch_fq pacing: twice the rate while the window doubles
PACING_GAIN = 1.25
SYN_ACK_INTERVAL = 0.5  # first SYN-ACK retransmission, doubled each time


@dataclass(slots=True)
class ChannelStats:
    """Counters of what the channel did; read them at any time."""

    original_segments: int = 0
    repair_unicast: int = 0
    repair_multicast: int = 0
    acks_processed: int = 0
    malformed: int = 0
    foreign: int = 0
    bytes_original: int = 0
    bytes_repair: int = 0


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
        holds (a file on disk, say); with it, receivers may resume from any offset."""
        self.group = group
        self._history = history
        self.config = cfg = config or ChannelConfig()
        self._rng = rng or random.Random(0)
        self.stats = ChannelStats()
        self._channel_id = cfg.channel_id
        self._mss = cfg.mss
        self._progress_timeout = cfg.drop_rules.progress_timeout
        self._buf = SendBuffer(cfg.mss)
        self._children: dict[tuple[Address, int], Child] = {}
        self._by_index: dict[int, Child] = {}
        self._next_index = 1
        self.live = 0  # established receivers
        self.holders = 0  # receivers that hold data back: established, or mid-handshake
        self._edges = CountedMin()  # pacing receivers' right edges (see Child.right_edge)
        self._strict = cfg.window_policy.kind == "slowest"
        self._fair = cfg.cwnd_policy.kind == "fair"
        self._timers = TimerQueue()
        self._sweep_timer = Timer(self._on_sweep)
        self._keepalive_timer = Timer(self._on_keepalive)
        self._last_multicast = 0.0
        self._pacer = Pacer(cfg.pacing_burst_segments * (cfg.mss + HEADER_SIZE))
        self._pacing_wakeup: float | None = None
        self._out: list[Datagram] = []
        self._idle: list[Child] = []  # children with nothing outstanding: arm them on the next send
        self._events: deque[object] = deque()
        self.started = cfg.admission == "continuous"
        self._closing = False
        self._finished = False
        self.end: int | None = None  # final stream length, once closed and fully segmented
        self.channel_rtt: float | None = None
        self.channel_cwnd = cfg.mss * INITIAL_WINDOW_SEGMENTS  # policy G's value, refreshed by the sweep
        self._slow_start_over = False
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
        child = self._by_index.get(receiver)
        if child is None:
            raise LocalProtocolError(f"no receiver {receiver}")
        self._drop(child, ev.DropReason.APPLICATION, detail, now)

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
    def has_history(self) -> bool:
        """True when receivers can be served from before the send buffer (see ``history``)."""
        return self._history is not None

    @property
    def finished(self) -> bool:
        return self._finished

    def receivers(self) -> list[ReceiverInfo]:
        """A snapshot of every receiver's accounting."""
        return [self._info(c) for c in self._children.values()]

    def cwnd(self) -> int:
        """The channel's congestion window under policy G, in bytes, as of the last sweep."""
        return self.channel_cwnd

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagram(self, data: bytes, source: Address, now: float) -> None:
        """Decode and handle one datagram; malformed ones are counted and dropped."""
        fields = plain_ack_fields(data)
        if fields is not None and fields[0] == self._channel_id:
            child = self._children.get((source, fields[1]))
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
        if packet.channel != self.config.channel_id:
            self.stats.foreign += 1
            return
        kind = packet.type
        if kind is PacketType.ACK:
            child = self._children.get((source, packet.connection))
            if child is None:
                self._send_rst(source, packet.connection, "unknown connection")
                return
            self._handle_ack(child, packet.ack, packet.window, packet.tsecr, packet.sack, now)
        elif kind is PacketType.SYN:
            self._handle_syn(packet, source, now)
        elif kind is PacketType.RST:
            child = self._children.get((source, packet.connection))
            if child is not None:
                self._remove(child, now)
                self._events.append(ev.ReceiverLeft(child.index, child.address, now, self._info(child)))
        elif kind is PacketType.UPDATA:
            child = self._children.get((source, packet.connection))
            if child is not None and child.established:
                self._handle_up(child, packet, now)
        else:
            self.stats.foreign += 1

    def datagrams_to_send(self, now: float) -> list[Datagram]:
        """Everything to send now: control packets, repairs, then new data as the window allows."""
        if self._sweep_timer.due is None and self._children:
            self._timers.arm(self._sweep_timer, now + self.config.sweep_interval)
            if self.config.keepalive is not None and self._keepalive_timer.due is None:
                self._timers.arm(self._keepalive_timer, now + self.config.keepalive)
        self._send_new_data(now)
        if self._closing:
            self._check_finished(now)
        out = self._out
        if not out:
            return []
        self._out = []
        return out

    def next_deadline(self) -> float | None:
        deadline = self._timers.next_deadline()
        wakeup = self._pacing_wakeup
        if wakeup is not None and (deadline is None or wakeup < deadline):
            return wakeup
        return deadline

    def handle_timer(self, now: float) -> None:
        if self._pacing_wakeup is not None and now >= self._pacing_wakeup:
            self._pacing_wakeup = None
        self._timers.run_due(now)

    def next_event(self) -> object | None:
        return self._events.popleft() if self._events else None

    # --- handshake ---------------------------------------------------------------------------

    def _handle_syn(self, packet: Packet, source: Address, now: float) -> None:
        key = (source, packet.connection)
        child = self._children.get(key)
        if child is not None:
            self._send_syn_ack(child, packet.tsval, now)
            return
        start = self._buf.snd_nxt
        if packet.flags & FLAG_RESUME:
            resume = self._resume_point(packet.ack)
            if resume is None:
                self._send_rst(source, packet.connection, f"cannot resume at byte {packet.ack}: no longer held")
                return
            start = resume
        elif self.started and self.config.admission != "continuous":
            self._send_rst(source, packet.connection, "transfer in progress; late joiners are refused")
            self._next_index += 1
            self._events.append(
                ev.ReceiverDropped(
                    self._next_index - 1, source, ev.DropReason.REFUSED, "SYN after the transfer started", now
                )
            )
            return
        child = self._new_child(source, packet.connection, start, now)
        child.count_from = self._buf.snd_nxt  # it holds back only segments sent from now on
        self.holders += 1  # from now on, new segments wait for it too
        self._children[key] = child
        self._by_index[child.index] = child
        self._send_syn_ack(child, packet.tsval, now)

    def _resume_point(self, requested: int) -> int | None:
        """Where a receiver asking to resume at ``requested`` starts, or None if impossible."""
        start = min(requested, self._buf.snd_nxt)
        if start < self._buf.base and self._history is None:
            return None
        return start

    def _new_child(self, address: Address, connection: int, start: int, now: float) -> Child:
        cfg = self.config
        cc = make_controller(cfg.congestion_control, cfg.mss, cfg.max_window)
        child = Child(
            self._next_index, address, connection, start, cc, RttEstimator(cfg.rto), self._on_child_timer, now
        )
        self._next_index += 1
        self._timers.arm(child.timer, now + SYN_ACK_INTERVAL)
        return child

    def _send_syn_ack(self, child: Child, echo: int, now: float) -> None:
        packet = Packet(
            PacketType.SYN_ACK,
            self.config.channel_id,
            child.connection,
            child.start,
            window=self.config.max_window,
            tsval=timestamp(now),
            tsecr=echo,
        )
        self._out.append(Datagram(encode(packet), child.address, False, packet))

    def _establish(self, child: Child, window: int, tsecr: int, now: float) -> None:
        child.state = ChildState.ESTABLISHED
        child.joined_at = child.last_progress = now
        if tsecr:
            child.rtt.on_sample(elapsed_since(tsecr, now))
            if self.channel_rtt is None:
                self.channel_rtt = child.rtt.srtt
        self.live += 1
        child.rwnd = window
        self._join_pacing(child)
        child.timer_base = now
        if child.una < self._buf.snd_nxt:  # resumed behind the head: repair what it missed
            child.recovery_point = child.rto_lost_upto = self._buf.snd_nxt
            child.credit = child.cc.cwnd
            child.catchup_next = child.una
            self._repair_losses(child, now)
        if child.una < self._buf.snd_nxt:
            self._arm_timer(child, now)
        else:
            self._park(child)
        self._events.append(ev.ReceiverJoined(child.index, child.address, child.start, now))
        if not self.started and self.live >= self.config.min_receivers:
            self.started = True
            self._events.append(ev.TransferStarted(self.live, now))

    # --- acknowledgements ----------------------------------------------------------------------

    def _handle_ack(
        self, child: Child, ack: int, window: int, tsecr: int, sack: tuple[tuple[int, int], ...], now: float
    ) -> None:
        self.stats.acks_processed += 1
        child.acks += 1
        if child.state is not ChildState.ESTABLISHED and not self._ack_outside_established(
            child, ack, window, tsecr, now
        ):
            return
        snd_nxt = self._buf.snd_nxt
        old = child.una
        if ack > snd_nxt or ack < old:
            return  # acknowledges data never sent, or is older than what we know
        child.rwnd = window
        if (
            ack > old
            and child.recovery_point is None
            and not sack
            and not child.sacked.total
            and not child.retransmitted
            and not child.passive
        ):
            self._on_plain_ack(child, ack, tsecr, old, now)
            return
        self._on_ack_in_recovery(child, ack, tsecr, sack, old, now)

    def _ack_outside_established(self, child: Child, ack: int, window: int, tsecr: int, now: float) -> bool:
        """Handshake completion and FIN acknowledgement; True when the ACK needs more handling."""
        if child.state is ChildState.SYN_RECEIVED:
            if ack != child.start:
                return False
            self._establish(child, window, tsecr, now)
            return True
        if child.state is ChildState.FIN_SENT and ack == self._buf.snd_nxt + 1:
            self._complete(child, now)
            return False
        return child.state is ChildState.FIN_SENT

    def _on_plain_ack(self, child: Child, ack: int, tsecr: int, old: int, now: float) -> None:
        """The common case, kept short: new data acknowledged, nothing missing, no repair pending."""
        buf = self._buf
        repaired = buf.on_acked(old if old >= child.count_from else child.count_from, ack)
        if tsecr and not repaired and now >= child.sample_after:  # one RTT sample per round trip
            rtt = child.rtt
            rtt.update(((int(now * 1_000_000) - tsecr) & 0xFFFFFFFF) * 1e-6)  # see core.timestamps
            child.sample_after = now + rtt.srtt  # type: ignore[operator]
        child.una = ack
        child.dupacks = 0
        child.last_progress = child.timer_base = now
        child.probe_sent = False
        cc = child.cc
        cc.on_ack(ack - old, now)
        if ack >= buf.snd_nxt:
            self._park(child)
        key = child.edge_key
        new = ack + min(cc.cwnd if not self._fair else self.channel_cwnd, child.rwnd)
        if key is not None and new != key:
            self._edges.replace(key, new)
            child.edge_key = new
        if ack == self.end:
            self._send_fin(child, now)

    def _on_ack_in_recovery(
        self, child: Child, ack: int, tsecr: int, sack: tuple[tuple[int, int], ...], old: int, now: float
    ) -> None:
        """The general case: SACK blocks, duplicate ACKs, repairs in flight, loss recovery."""
        snd_nxt = self._buf.snd_nxt
        newly_sacked = child.update_sack(sack, snd_nxt) if sack else 0
        if ack > old:
            self._on_new_ack(child, ack, tsecr, old, now)
        elif old < snd_nxt:
            child.dupacks += 1
        if child.in_recovery:
            child.credit = min(child.credit + newly_sacked, child.cc.cwnd)
        if child.sacked or child.dupacks or child.rto_lost_upto > child.una:
            self._repair_losses(child, now)
        self._sync_edge(child)
        if child.una == self.end and child.state is ChildState.ESTABLISHED:
            self._send_fin(child, now)

    def _on_new_ack(self, child: Child, ack: int, tsecr: int, old: int, now: float) -> None:
        covered_repair = child.covers_retransmission(ack)
        if ack > child.count_from:
            covered_repair |= self._buf.on_acked(max(old, child.count_from), ack)
        child.catchup_next = max(child.catchup_next, ack)
        if tsecr:
            child.rtt.on_sample(elapsed_since(tsecr, now), covers_retransmission=covered_repair)
        acked = child.advance(ack)
        child.dupacks = 0
        child.last_progress = now
        if child.recovery_point is not None and ack >= child.recovery_point:
            child.recovery_point = None
            child.rto_lost_upto = 0
        if child.in_recovery:
            child.credit = min(child.credit + acked, child.cc.cwnd)
        else:
            child.cc.on_ack(acked, now)
        if child.passive and ack >= self._buf.edge and child.rwnd >= self._mss:  # caught up, window open
            self._join_pacing(child)
        child.timer_base = now
        child.probe_sent = False
        if ack >= self._buf.snd_nxt:
            self._park(child)

    def _park(self, child: Child) -> None:
        """Everything sent is acknowledged: no timer until new data goes out (see _arm_idle)."""
        child.rack_due = None
        self._timers.disarm(child.timer)
        self._idle.append(child)

    def _arm_timer(self, child: Child, now: float) -> None:
        """Arm the child's one timer at its earliest due time (see smocast.smo.timing)."""
        due = next_due(child, self._buf.snd_nxt, self._mss, self._progress_timeout)
        self._timers.arm(child.timer, due if due > now else now + 1e-6)

    # --- loss recovery and repairs -----------------------------------------------------------

    def _repair_losses(self, child: Child, now: float) -> None:
        buf = self._buf
        if child.una < buf.base:
            if self._history is None:
                self._drop(
                    child, ev.DropReason.FELL_BEHIND, f"needs byte {child.una}, the buffer starts at {buf.base}", now
                )
                return
            self._catch_up(child, now)
        budget = max(child.credit, self._mss) if child.in_recovery else child.cc.cwnd
        lost, rack_due = lost_segments(child, buf, now, budget)
        if rack_due != child.rack_due:
            child.rack_due = rack_due
            if rack_due is not None and (child.timer.due is None or rack_due < child.timer.due):
                self._timers.arm(child.timer, rack_due if rack_due > now else now + 1e-6)
        for segment in lost:
            if not child.in_recovery:
                self._enter_recovery(child, now)
            if child.credit <= 0:
                break
            child.credit -= segment.end - segment.start
            if note_missing(segment, child.index, self.live, self.config.repair_multicast_fraction):
                self._send_repair(segment, None, now)
            else:
                self._send_repair(segment, child, now)

    def _catch_up(self, child: Child, now: float) -> None:
        """Send, from history, what a resumed receiver misses below the send buffer (go-back-N)."""
        assert self._history is not None
        base, mss = self._buf.base, self._mss
        child.catchup_next = max(child.catchup_next, child.una)
        while child.catchup_next < base and child.credit > 0:
            start = child.catchup_next
            payload = self._history(start, min(mss, base - start))
            if not payload:
                return
            child.credit -= len(payload)
            child.catchup_next = start + len(payload)
            self.stats.repair_unicast += 1
            self.stats.bytes_repair += len(payload)
            data, packet = encode_data(
                PacketType.REPAIR, self._channel_id, child.connection, start, timestamp(now), 0, 1, payload
            )
            self._out.append(Datagram(data, child.address, False, packet))

    def _handle_up(self, child: Child, packet: Packet, now: float) -> None:
        """Session relay: a receiver's own stream, up its connection."""
        if child.up is None:
            child.up = UpReceiver()
        for message in child.up.offer(packet.seq, packet.payload):
            self._events.append(ev.SessionData(child.index, child.address, message, now))
        data, ack = encode_ack(
            self._channel_id, child.connection, child.up.acked, 1 << 20, timestamp(now), packet.tsval, ()
        )
        self._out.append(Datagram(data, child.address, False, ack))

    def _enter_recovery(self, child: Child, now: float) -> None:
        snd_nxt = self._buf.snd_nxt
        child.recovery_point = snd_nxt
        child.cc.on_congestion_event(now)
        child.credit = max(child.credit, self.config.mss)
        self._slow_start_over = True

    def _send_repair(self, segment: Segment, child: Child | None, now: float) -> None:
        """Repair ``segment`` to one receiver, or to the whole group when ``child`` is None."""
        if child is None:
            destination, connection = self.group, 0
            segment.mcast_at = self._last_multicast = now
            segment.missing = None
            self.stats.repair_multicast += 1
        else:
            destination, connection = child.address, child.connection
            child.retransmitted[segment.start] = now
            child.repairs_unicast += 1
            self.stats.repair_unicast += 1
        self.stats.bytes_repair += segment.end - segment.start
        data, packet = encode_data(
            PacketType.REPAIR,
            self._channel_id,
            connection,
            segment.start,
            timestamp(now),
            segment.flags,
            1,
            segment.payload,
        )
        self._out.append(Datagram(data, destination, child is None, packet))

    def _on_child_timer(self, child: Child, now: float) -> None:
        if child.state is ChildState.SYN_RECEIVED:
            self._on_handshake_timer(child, now)
            return
        timeout = self._progress_timeout
        if timeout is not None and now - child.last_progress >= timeout:
            why = "receive window shut" if child.rwnd < self._mss else "no acknowledgement"
            self._drop(child, ev.DropReason.NO_PROGRESS, f"{why} for {timeout:g} s", now)
            return
        if child.state is ChildState.FIN_SENT:
            self._on_fin_timer(child, now)
            return
        if child.una >= self._buf.snd_nxt:
            return  # parked: everything is acknowledged
        if child.rack_due is not None and now >= child.rack_due:
            child.rack_due = None
            self._repair_losses(child, now)
        if now >= retransmission_due(child):
            self._on_retransmission_timeout(child, now)
        else:
            probe = probe_due(child, self._buf.snd_nxt, self._mss)
            if probe is not None and now >= probe:
                child.probe_sent = True
                self._send_probe(child, now)
        if child.state is not ChildState.CLOSED:
            self._arm_timer(child, now)

    def _on_fin_timer(self, child: Child, now: float) -> None:
        if now >= retransmission_due(child):
            child.rtt.back_off()
            self._send_fin(child, now)
        else:
            self._timers.arm(child.timer, retransmission_due(child))

    def _send_probe(self, child: Child, now: float) -> None:
        """Tail loss probe: repair the first segment the receiver misses, without a cwnd cut."""
        for segment in self._buf.segments_from(child.una):
            if not child.sacked.contains(segment.start, segment.end):
                self._send_repair(segment, child, now)
                return

    def _on_retransmission_timeout(self, child: Child, now: float) -> None:
        snd_nxt = self._buf.snd_nxt
        if child.una >= snd_nxt:
            return
        child.cc.on_retransmission_timeout(now)
        child.rtt.back_off()
        child.recovery_point = snd_nxt
        child.rto_lost_upto = snd_nxt
        child.catchup_next = child.una
        child.retransmitted.clear()
        child.dupacks = 0
        child.credit = self.config.mss
        self._slow_start_over = True
        if not self._strict and not child.passive:
            self._leave_pacing(child)
        child.timer_base = now
        child.probe_sent = True
        self._repair_losses(child, now)
        self._sync_edge(child)

    def _on_handshake_timer(self, child: Child, now: float) -> None:
        if now - child.syn_at >= self.config.drop_rules.handshake_timeout:
            self._drop(child, ev.DropReason.HANDSHAKE_TIMEOUT, "the handshake never completed", now)
            return
        self._send_syn_ack(child, 0, now)
        waited = now - child.syn_at
        self._timers.arm(child.timer, now + max(SYN_ACK_INTERVAL, waited))

    # --- new data ------------------------------------------------------------------------------

    def _send_new_data(self, now: float) -> None:
        buf = self._buf
        if not self.started or not buf.pending:
            return
        smallest_edge = self._edges.minimum()
        # nobody paces the channel (no receivers yet, in continuous mode): only the send window limits
        allowed = buf.edge + self.config.max_window if smallest_edge is None else smallest_edge
        if buf.snd_nxt + buf.next_length() > allowed:
            return  # the common case after an ACK that opened nothing
        cfg = self.config
        ack_every = self._ack_every(now)
        self._update_pacing_rate(now)
        while buf.pending:
            length = buf.next_length()
            end = buf.snd_nxt + length
            if end > allowed or end - buf.edge > cfg.max_window:
                return
            if not self._make_room(length):
                return
            if not self._pacer.allowed(length + HEADER_SIZE, now):
                self._pacing_wakeup = self._pacer.next_send_time(length + HEADER_SIZE, now)
                return
            segment = buf.take(now, cfg.window_policy.acks_needed(self.holders), self.holders)
            self._send_original(segment, ack_every, now)
            if self._idle:
                self._arm_idle(now)

    def _arm_idle(self, now: float) -> None:
        """New data went out: children that had everything acked now have something to time."""
        idle, self._idle = self._idle, []
        for child in idle:
            if child.state is ChildState.ESTABLISHED and not child.timer.armed:
                child.last_progress = child.timer_base = now  # "no progress" counts from here
                child.probe_sent = False
                self._arm_timer(child, now)

    def _send_original(self, segment: Segment, ack_every: int, now: float) -> None:
        self._last_multicast = now
        stats = self.stats
        stats.original_segments += 1
        stats.bytes_original += segment.end - segment.start
        data, packet = encode_data(
            PacketType.DATA,
            self._channel_id,
            0,
            segment.start,
            timestamp(now),
            segment.flags,
            ack_every,
            segment.payload,
        )
        self._out.append(Datagram(data, self.group, True, packet))

    def _make_room(self, length: int) -> bool:
        """Keep the retained bytes within the policy's limit; False when sending must wait."""
        buf = self._buf
        policy = self.config.window_policy
        limit = policy.buffer_bytes if policy.kind == "buffer" else self.config.retain_limit
        excess = buf.snd_nxt + length - buf.base - limit
        if excess <= 0:
            return True
        if self._strict:
            return False
        buf.force_release(buf.base + excess)
        return True

    def _ack_every(self, now: float) -> int:
        cwnd = self.channel_cwnd
        slow_start = not self._slow_start_over and cwnd < self.config.max_window
        return self.config.ack_frequency.segments_per_ack(slow_start=slow_start, window_segments=cwnd // self._mss)

    def _update_pacing_rate(self, now: float) -> None:
        rtt = self.channel_rtt
        if not self.config.pacing or not rtt:
            self._pacer.set_rate(None, now)
            return
        gain = PACING_GAIN if self._slow_start_over else PACING_GAIN_SLOW_START
        self._pacer.set_rate(gain * self.channel_cwnd / rtt, now)

    # --- closing -------------------------------------------------------------------------------

    def _send_fin(self, child: Child, now: float) -> None:
        if child.state is ChildState.ESTABLISHED:
            child.state = ChildState.FIN_SENT
            child.fin_sent_at = now
        packet = Packet(
            PacketType.FIN, self.config.channel_id, child.connection, self._buf.snd_nxt, tsval=timestamp(now)
        )
        self._out.append(Datagram(encode(packet), child.address, False, packet))
        child.timer_base = now
        self._timers.arm(child.timer, now + child.rtt.rto)

    def _complete(self, child: Child, now: float) -> None:
        self._remove(child, now)
        self.completed += 1
        self._events.append(
            ev.ReceiverCompleted(child.index, child.address, child.una - child.start, now, self._info(child))
        )

    def _check_finished(self, now: float) -> None:
        """Fix the stream's end once everything is sent once, FIN the caught-up, and finish."""
        if self._finished or not self._closing or not self.started or self._buf.pending:
            return
        if self.end is None:
            self.end = self._buf.snd_nxt
            for child in [
                c for c in self._children.values() if c.state is ChildState.ESTABLISHED and c.una == self.end
            ]:
                self._send_fin(child, now)
        if self._children:
            return
        self._finished = True
        self._timers.disarm(self._sweep_timer)
        self._timers.disarm(self._keepalive_timer)
        self._events.append(ev.ChannelFinished(self.completed, self.dropped, now))

    # --- membership ----------------------------------------------------------------------------

    def _drop(self, child: Child, reason: ev.DropReason, detail: str, now: float) -> None:
        if child.state is ChildState.CLOSED:
            return
        self._send_rst(child.address, child.connection, reason.value)
        self._remove(child, now)
        self.dropped += 1
        self._events.append(ev.ReceiverDropped(child.index, child.address, reason, detail, now, self._info(child)))

    def _remove(self, child: Child, now: float) -> None:
        if child.state is ChildState.CLOSED:
            return
        self.holders -= 1
        self._buf.on_receiver_removed(max(child.una, child.count_from))
        if child.established:
            self.live -= 1
            if not child.passive:
                self._leave_pacing(child)
        child.state = ChildState.CLOSED
        self._timers.disarm(child.timer)
        self._children.pop((child.address, child.connection), None)
        self._by_index.pop(child.index, None)

    def _send_rst(self, address: Address, connection: int, reason: str) -> None:
        packet = Packet(PacketType.RST, self.config.channel_id, connection, payload=reason.encode()[:200])
        self._out.append(Datagram(encode(packet), address, False, packet))

    # --- aggregation of the pacing receivers -------------------------------------------------

    def _join_pacing(self, child: Child) -> None:
        """The child paces the channel again: its right edge joins the aggregate."""
        child.passive = False
        child.edge_key = key = child.right_edge(self._window_of(child))
        self._edges.add(key)

    def _leave_pacing(self, child: Child) -> None:
        """The child no longer paces the channel (left behind, unresponsive, or gone)."""
        child.passive = True
        if child.edge_key is not None:
            self._edges.remove(child.edge_key)
            child.edge_key = None

    def _sync_edge(self, child: Child) -> None:
        key = child.edge_key
        if key is not None:
            new = child.right_edge(self._window_of(child))
            if new != key:
                self._edges.replace(key, new)
                child.edge_key = new

    def _window_of(self, child: Child) -> int:
        return self.channel_cwnd if self._fair else child.cc.cwnd

    # --- the periodic sweep --------------------------------------------------------------------

    def _on_keepalive(self, now: float) -> None:
        """Nothing multicast for a while: tell the group where the stream stands."""
        interval = self.config.keepalive
        if interval is None or self._finished or not self._children:
            return
        if now >= self._last_multicast + interval - 1e-6:  # also while admission waits
            data, packet = encode_data(
                PacketType.DATA, self._channel_id, 0, self._buf.snd_nxt, timestamp(now), 0, 1, b""
            )
            self._out.append(Datagram(data, self.group, True, packet))
            self._last_multicast = now
        self._timers.arm(self._keepalive_timer, max(now, self._last_multicast) + interval)

    def _on_sweep(self, now: float) -> None:
        sweep(self, now)
        if self._children:
            self._timers.arm(self._sweep_timer, now + self.config.sweep_interval)

    def _info(self, child: Child) -> ReceiverInfo:
        return ReceiverInfo(
            child.index,
            child.address,
            child.state.value,
            child.joined_at,
            child.start,
            child.una - child.start,
            child.rtt.srtt,
            child.cc.cwnd,
            child.repairs_unicast,
            child.repairs_multicast,
            child.passive,
        )
