"""The TCP-SMO receiver: one TCP-like connection to the source, fed by the group's multicast.

It opens the connection (receiver-initiated three-way handshake), takes data from the group
and from unicast repairs alike, and ACKs with SACK blocks and its receive window. Its
:class:`~smocast.smo.delivery.Delivery` turns the data into in-order events. RST from the
source means: leave the channel. FIN means the stream is complete.

The handshake starts with a SYN that carries no cookie; the source answers it with a RETRY
whose cookie the receiver echoes in its next SYN (address validation), then with a SYN-ACK.
RST and FIN are honoured only when they come from the server's address on the unicast path
(never through the group: the runtime says which with ``via_group``) and only at exactly
the expected stream offset; a near miss draws a rate-limited challenge ACK (RFC 5961, see
:mod:`smocast.smo.challenge`).

Flow control lives here, in one place: the advertised window is the receive buffer less
what is held out of order, what was delivered but not yet taken by the application (it
says so with :meth:`Receiver.consumed`), and any backlog it reports (:meth:`set_backlog`,
for relays). ``next_event`` only hands events over; it never changes the window.

In real-time mode (TCP-RTM, paper section V.C) a hole that cannot be repaired in time is
skipped: the data after it is delivered, a :class:`~smocast.smo.events.Skipped` event
names the range given up, and the next ACK acknowledges past the hole so the source stops
repairing it. See :class:`~smocast.smo.config.ReceiverConfig`.

Sans-IO: the runtime joins the multicast group before calling :meth:`Receiver.connect`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from enum import Enum

from smocast.core.acking import DelayedAck
from smocast.core.datagram import Address, Datagram
from smocast.core.errors import LocalProtocolError
from smocast.smo import events as ev
from smocast.smo.challenge import ChallengeLimiter, Verdict, judge
from smocast.smo.connecting import Handshake, SynTimer
from smocast.smo.delivery import Delivery, ReceiverStats
from smocast.smo.receiver_config import ReceiverConfig
from smocast.smo.receiver_outbox import ReceiverOutbox
from smocast.smo.silence import SilenceWatch
from smocast.smo.uplink import UpSender
from smocast.wire import (
    HEADER_SIZE,
    MAX_SACK_BLOCKS,
    DecodeError,
    Packet,
    PacketType,
    ResetCode,
    decode,
    plain_data_fields,
)
from smocast.wire import build as packets

__all__ = ["Receiver", "ReceiverState", "ReceiverStats"]


class ReceiverState(Enum):
    IDLE = "idle"
    SYN_SENT = "syn-sent"
    ESTABLISHED = "established"
    FINISHED = "finished"
    CLOSED = "closed"


class Receiver:
    """One receiver of a TCP-SMO channel whose source is at ``server``."""

    def __init__(self, server: Address, config: ReceiverConfig | None = None, rng: random.Random | None = None) -> None:
        """``rng`` draws the 64-bit connection id, which an attacker must not guess: on a real
        network it must be backed by the OS (``random.SystemRandom()``)."""
        self.server = server
        self.config = cfg = config or ReceiverConfig()
        self._channel_id = cfg.channel_id
        self.connection = (rng or random.Random(0)).getrandbits(64) or 1
        self.state = ReceiverState.IDLE
        self.stats = ReceiverStats()
        self.start: int | None = None
        self.length: int | None = None  # stream length, once the FIN arrived
        self._events: deque[ev.ReceiverEvent] = deque()
        self._data = Delivery(cfg, self._events, self.stats)
        self._delack = DelayedAck(cfg.ack_delay)
        self._ts_recent = 0
        self._last_ack_sent = 0
        self._consumed = 0  # delivered bytes the application took (consumed)
        self._backlog = 0  # delivered bytes the application still holds elsewhere (set_backlog)
        self._advertised = cfg.receive_buffer  # the window in the last ACK
        self._early: list[Packet] = []  # data that arrived before the SYN-ACK
        self._early_bytes = 0  # their payload, at most the receive buffer
        self._handshake = Handshake(cfg)
        self._out = ReceiverOutbox(cfg.channel_id, self.connection, server)
        self._ack_now = False
        self.handshake_rtt: float | None = None
        self._up = UpSender()
        self._silence = SilenceWatch(cfg)
        self._hold_end = False  # the application checks the stream before the FIN is acknowledged
        self._end_held = False  # a FIN was honoured but is not acknowledged yet (hold_end)
        self._highest = 0  # the highest stream offset seen in data or heartbeats (a FIN may not lie below)
        self._challenges = ChallengeLimiter()

    # --- application API -------------------------------------------------------------------

    def connect(self, now: float) -> None:
        """Start the handshake; the runtime must already have joined the group."""
        if self.state is not ReceiverState.IDLE:
            raise LocalProtocolError(f"connect() in state {self.state.value}")
        self.state = ReceiverState.SYN_SENT
        self._handshake.start(now)
        self._send_syn(now)

    def close(self, now: float, code: ResetCode = ResetCode.CLOSED, reason: str = "") -> None:
        """Leave the channel now: the source is told with an RST that says why (``code``, and
        ``reason`` in words, e.g. ``DISK_FULL`` and the error message), and removes this receiver."""
        self._send_rst(now, code, reason)
        self.state = ReceiverState.CLOSED
        self._end_held = False

    def hold_end(self) -> None:
        """The application checks the whole stream (a file's hash) before it counts as received:
        the FIN is then not acknowledged until :meth:`accept_end`, and until then :meth:`close`
        still reaches the source, with its reason (say ``VERIFY_FAILED``). The application must
        decide soon: the source drops a receiver that leaves its FIN unanswered for its
        progress timeout."""
        self._hold_end = True

    def accept_end(self, now: float) -> None:
        """The application accepts the stream: acknowledge the FIN held back (see :meth:`hold_end`)."""
        if self._end_held:
            self._end_held = False
            self._send_ack(now, fin=True)

    def _send_rst(self, now: float, code: ResetCode, reason: str) -> None:
        if self.state in (ReceiverState.SYN_SENT, ReceiverState.ESTABLISHED) or self._end_held:
            self._out.rst(self.rcv_nxt, code, reason, now)

    def consumed(self, nbytes: int) -> None:
        """The application took ``nbytes`` of delivered data (of DataReceived or MessageReceived).

        Until it does, those bytes count against the window. When the window has opened by a
        quarter of the buffer, the next ``datagrams_to_send`` carries a window update.
        """
        self._consumed += nbytes
        self._note_window_opened()

    def set_backlog(self, nbytes: int) -> None:
        """The application still holds ``nbytes`` of delivered data elsewhere (a relay's downstream).

        The window shrinks by it, so the source slows down; the window update rule is the
        same as for :meth:`consumed`.
        """
        self._backlog = max(0, nbytes)
        self._note_window_opened()

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
        target = self._data.skip_target()
        if target is None:
            return False
        self._skip(target, now)
        return True

    @property
    def rcv_nxt(self) -> int:
        """The next stream byte expected: everything below it was delivered."""
        return self._data.rcv_nxt

    @property
    def unconsumed(self) -> int:
        """Bytes delivered in events that the application has not yet taken (see :meth:`consumed`)."""
        return self._data.delivered - self._consumed

    @property
    def window(self) -> int:
        """The receive window advertised to the source."""
        used = self._data.held_bytes + self.unconsumed + self._backlog
        return max(0, min(self.config.receive_buffer - used, 0xFFFFFFFF))

    @property
    def heartbeat(self) -> float | None:
        """How often the source heartbeats when idle, as its SYN-ACK said (None: it sends none)."""
        return self._silence.heartbeat

    @property
    def ack_pending(self) -> bool:
        """True when the next ``datagrams_to_send`` will carry an ACK (drive it soon)."""
        return self._ack_now

    @property
    def done(self) -> bool:
        return self.state in (ReceiverState.FINISHED, ReceiverState.CLOSED)

    def _note_window_opened(self) -> None:
        """Receiver-side silly window avoidance: announce a window that opened by a quarter of the
        buffer since the last ACK, when the last one offered less than half of it."""
        buffer = self.config.receive_buffer
        if (
            self.state is ReceiverState.ESTABLISHED
            and self._advertised < buffer // 2
            and self.window - self._advertised >= buffer // 4
        ):
            self._ack_now = True

    # --- sans-IO contract ------------------------------------------------------------------

    def receive_datagram(
        self, data: bytes | memoryview, source: Address, now: float, *, via_group: bool = False
    ) -> None:
        """A datagram arrived from ``source``; ``via_group`` says it came through the group's
        socket (the runtime knows): then only DATA and REPAIR are taken from it."""
        try:
            packet = decode(data)
        except DecodeError:
            self.stats.malformed += 1
            return
        self.receive_packet(packet, source, now, via_group=via_group)

    def receive_datagrams(
        self, batch: Sequence[tuple[bytes | memoryview, Address]], now: float, *, via_group: bool = False
    ) -> None:
        """A batch of datagrams that arrived by ``now``, each ``(data, source)``, in order: the
        same as :meth:`receive_datagram` for each, except that each run of consecutive in-order
        data comes out as one :class:`~smocast.smo.events.DataReceived`. ``data`` may be a view
        of the runtime's buffer: nothing keeps it past the call. Then run the pump once."""
        fast = self.config.playout_delay is None and not self.config.framing
        index, count = 0, len(batch)
        while index < count:
            if fast and self.state is ReceiverState.ESTABLISHED and not self._data.holds_data:
                after = self._take_in_order_run(batch, index, now)
                if after > index:
                    index = after
                    continue
            data, source = batch[index]
            self.receive_datagram(data, source, now, via_group=via_group)
            index += 1

    def _take_in_order_run(self, batch: Sequence[tuple[bytes | memoryview, Address]], index: int, now: float) -> int:
        """The batch's common case: plain DATA packets, each the next expected segment, within the
        window; what :meth:`_handle_data` does for each, with the state read and written once for
        the run. Returns the index of the first datagram not taken (``index``: none was)."""
        delivery, delayed_ack = self._data, self._delack.on_data
        start = expected = delivery.rcv_nxt
        room = self.config.receive_buffer - self.unconsumed - self._backlog  # the window left
        channel, last_ack_sent = self._channel_id, self._last_ack_sent
        payloads: list[bytes | memoryview] = []
        echo: int | None = None
        ack_now = False
        for data, _ in batch[index:]:
            fields = plain_data_fields(data)
            if fields is None or fields[0] != channel or fields[1] != expected or room <= 0:
                break
            if expected <= last_ack_sent:
                echo = fields[2]  # RFC 7323: echo the oldest unacknowledged segment
            payloads.append(data[HEADER_SIZE:])
            size = len(data) - HEADER_SIZE
            expected += size
            room -= size
            if delayed_ack(True, fields[4] or 2, now):
                ack_now = True
        if not payloads:
            return index
        delivery.take_run(start, payloads)
        self.stats.segments += len(payloads)
        self._silence.heard(now)
        self._highest = max(self._highest, expected)
        if echo is not None:
            self._ts_recent = echo
        if ack_now:
            self._ack_now = True
        return index + len(payloads)

    def receive_packet(self, packet: Packet, source: Address, now: float, *, via_group: bool = False) -> None:
        """Handle one decoded packet, from the group (``via_group``) or from the server."""
        if packet.channel != self._channel_id:
            self.stats.foreign += 1
            return
        self._silence.heard(now)
        kind = packet.type
        if kind is PacketType.DATA:
            self._handle_data(packet, now)
            return
        if kind is PacketType.REPAIR:
            if packet.connection in (0, self.connection):
                self._handle_data(packet, now)
            return
        if via_group or source != self.server or packet.connection != self.connection:
            self.stats.foreign += 1
            return
        if kind is PacketType.RETRY:
            self._handle_retry(packet, now)
        elif kind is PacketType.SYN_ACK:
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
        return self._out.take()

    def next_deadline(self) -> float | None:
        syn, delack = self._handshake.next_syn, self._delack.deadline
        due = delack if syn is None or (delack is not None and delack < syn) else syn
        for other in (self._data.playout_due, self._up.due, self._silence_due()):
            if other is not None and (due is None or other < due):
                due = other
        return due

    def handle_timer(self, now: float) -> None:
        self._on_syn_timer(now)
        silence = self._silence_due()
        if silence is not None and now >= silence:
            self._give_up_silent_source(now)
            return
        if self._up.due is not None and now >= self._up.due:
            self._up.on_timeout(now)
        playout = self._data.playout_due
        if playout is not None and now >= playout:
            target = self._data.skip_target()
            if target is None:
                self._data.playout_due = None
            else:
                self._skip(target, now)
        if self._delack.due(now) and self.state is ReceiverState.ESTABLISHED:
            self._send_ack(now)

    def next_event(self) -> ev.ReceiverEvent | None:
        """Pop the next event. For the bytes of each DataReceived or MessageReceived, the
        application must later call :meth:`consumed` (at once, if it takes them at once)."""
        return self._events.popleft() if self._events else None

    def _silence_due(self) -> float | None:
        return self._silence.due() if self.state is ReceiverState.ESTABLISHED else None

    def _give_up_silent_source(self, now: float) -> None:
        """The source is silent for too long: say how long really, and leave."""
        reason = self._silence.reason(now)
        self._send_rst(now, ResetCode.SOURCE_SILENT, reason)  # if it is alive after all, it learns why
        self._give_up(reason, now, ResetCode.SOURCE_SILENT)

    # --- handshake -------------------------------------------------------------------------

    def _send_syn(self, now: float) -> None:
        handshake = self._handshake
        self._out.syn(self.window, self.config.resume_from, handshake.cookie, now)
        handshake.sent(now)

    def _on_syn_timer(self, now: float) -> None:
        action = self._handshake.on_timer(now)
        if action is SynTimer.SEND_SYN:
            self._send_syn(now)
        elif action is SynTimer.GIVE_UP:
            self.state = ReceiverState.CLOSED
            server = f"{self.server[0]}:{self.server[1]}"
            waited = f"{self.config.connect_timeout:g} s"
            self._events.append(ev.ConnectFailed(f"no answer from {server} within {waited}", now))

    def _handle_retry(self, packet: Packet, now: float) -> None:
        """The source validates our address: echo its cookie in a new SYN (at once, a few times)."""
        if self.state is ReceiverState.SYN_SENT and self._handshake.on_retry(packet.payload):
            self._send_syn(now)

    def _handle_syn_ack(self, packet: Packet, now: float) -> None:
        if self.state is ReceiverState.SYN_SENT:
            self.handshake_rtt = self._handshake.established(now)
            self._silence.learn_heartbeat(packets.heartbeat_of(packet))
            self.state = ReceiverState.ESTABLISHED
            self.start = packet.seq
            self._data.start_at(packet.seq)
            self._last_ack_sent = packet.seq
            self._events.append(ev.Connected(packet.seq, now))
        if self.state is ReceiverState.ESTABLISHED:
            self._ts_recent = packet.tsval
            self._send_ack(now)  # completes (or repeats) the handshake
            early, self._early, self._early_bytes = self._early, [], 0
            for data in early:
                self._handle_data(data, now)

    # --- data --------------------------------------------------------------------------------

    def _handle_data(self, packet: Packet, now: float) -> None:
        if self.state is not ReceiverState.ESTABLISHED:
            self._data_outside_established(packet)
            return
        seq = packet.seq
        data = self._data
        if not packet.payload:
            self._on_heartbeat(seq)
            return
        rcv_nxt = data.rcv_nxt
        end = seq + len(packet.payload)
        self._highest = max(self._highest, end)
        if seq >= rcv_nxt + self.config.receive_buffer - self.unconsumed - self._backlog:
            self._refuse_beyond_window()
            return
        stats = self.stats
        stats.segments += 1
        deadline = data.deadline_of(packet, now) if self.config.playout_delay is not None else None
        if packet.type is PacketType.REPAIR:
            stats.repairs += 1
        elif seq == rcv_nxt and not data.holds_data:
            self._next_in_order(packet, now)
            return
        if not data.is_new(seq, seq + len(packet.payload)):
            stats.duplicates += 1
            self._ack_now = True  # a duplicate may mean our ACK was lost: repeat it at once
            return
        in_order = seq <= rcv_nxt
        if in_order and seq <= self._last_ack_sent:
            self._ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        filled_hole = in_order and data.holds_data
        data.take(packet, deadline, now)
        if self._delack.on_data(in_order and not filled_hole, packet.ack_every or 2, now):
            self._ack_now = True

    def _next_in_order(self, packet: Packet, now: float) -> None:
        """The common case, kept short: the next expected segment, nothing held out of order."""
        if packet.seq <= self._last_ack_sent:
            self._ts_recent = packet.tsval  # RFC 7323: echo the oldest unacknowledged segment
        self._data.take_next(packet, now)
        if self._delack.on_data(True, packet.ack_every or 2, now):
            self._ack_now = True

    def _refuse_beyond_window(self) -> None:
        """TCP's unacceptable segment: it starts past the window offered, so it is dropped and
        memory stays bounded by the receive buffer; the source repairs it once there is room."""
        self.stats.beyond_window += 1
        if self.window != self._advertised:
            self._ack_now = True  # tell the source the window it missed, once per change

    def _data_outside_established(self, packet: Packet) -> None:
        if self.state is ReceiverState.SYN_SENT and len(self._early) < self.config.max_early_segments:
            if self._early_bytes + len(packet.payload) <= self.config.receive_buffer:
                self._early.append(packet)  # multicast that beat the SYN-ACK: kept for later
                self._early_bytes += len(packet.payload)
        elif self.state is ReceiverState.FINISHED and packet.type is PacketType.REPAIR:
            self._ack_now = True  # our last ACK was lost: say again that we have it all

    def _on_heartbeat(self, seq: int) -> None:
        """An empty DATA packet: the source is alive, and its stream has reached ``seq``."""
        data = self._data
        self._highest = max(self._highest, seq)
        tail_lost = seq > data.rcv_nxt and not data.has(seq - 1)
        if tail_lost or self.window != self._advertised:
            self._ack_now = True  # a lost tail, or a window update the source may have missed

    def _skip(self, target: int, now: float) -> None:
        self._data.skip(target, now)
        self._ack_now = True  # acknowledge past the hole so the source stops repairing it

    # --- end of stream -------------------------------------------------------------------------

    def _handle_fin(self, packet: Packet, now: float) -> None:
        """The stream ends at ``packet.seq``: honoured only at exactly the end of what arrived,
        with nothing held or seen beyond it; a near miss draws a (rate-limited) challenge ACK."""
        if self.state is ReceiverState.FINISHED:
            if not self._end_held:
                self._send_ack(now, fin=True)  # our ACK of the FIN was lost
            return
        if self.state is not ReceiverState.ESTABLISHED:
            return
        data = self._data
        verdict = judge(packet.seq, data.rcv_nxt, self.config.receive_buffer)
        if verdict is Verdict.HONOUR and (data.holds_data or self._highest > data.rcv_nxt):
            verdict = Verdict.CHALLENGE  # the stream went on beyond it: a lie, or a FIN overtaking data
        if verdict is Verdict.HONOUR:
            self.state = ReceiverState.FINISHED
            self.length = packet.seq
            self._events.append(ev.StreamEnded(packet.seq, now))
            self._end_held = self._hold_end
            if not self._end_held:
                self._send_ack(now, fin=True)
        else:
            self._not_honoured(verdict, now)

    def _handle_rst(self, packet: Packet, now: float) -> None:
        """Leave the channel: honoured in SYN-SENT (a refusal), else only at exactly ``rcv_nxt``."""
        if self.state in (ReceiverState.CLOSED, ReceiverState.FINISHED):
            return  # after the FIN the source may have forgotten us; nothing was lost
        verdict = Verdict.HONOUR
        if self.state is ReceiverState.ESTABLISHED:
            verdict = judge(packet.seq, self._data.rcv_nxt, self.config.receive_buffer)
        if verdict is Verdict.HONOUR:
            code, text = packets.reset_reason(packet.payload)
            self._give_up(text or "reset by the source", now, code)
        else:
            self._not_honoured(verdict, now)

    def _not_honoured(self, verdict: Verdict, now: float) -> None:
        """An RST or FIN off the expected offset: counted; a near miss draws a challenge ACK."""
        self.stats.refused_controls += 1
        if verdict is Verdict.CHALLENGE and self._challenges.allow(now):
            self.stats.challenge_acks += 1
            self._send_ack(now)

    def _give_up(self, reason: str, now: float, code: ResetCode) -> None:
        """Leave the channel (reset, or a silent source) and tell the application why."""
        self.state = ReceiverState.CLOSED
        self._handshake.stop()
        self._data.playout_due = None
        self._up.due = None
        self._delack.on_ack_sent()
        self._events.append(ev.ConnectionReset(reason, now, code))

    # --- acknowledgements ----------------------------------------------------------------------

    def _send_ack(self, now: float, *, fin: bool = False) -> None:
        self._ack_now = False
        rcv_nxt = self._data.rcv_nxt
        window = self._advertised = self.window
        sack = self._data.sack_blocks(MAX_SACK_BLOCKS)
        self._out.ack(rcv_nxt + (1 if fin else 0), window, self._ts_recent, sack, now)
        self._last_ack_sent = rcv_nxt
        self._delack.on_ack_sent()
        self.stats.acks_sent += 1

    def _send_up(self, now: float) -> None:
        for offset, payload, flags in self._up.segments(now):
            self._out.updata(offset, payload, flags, self._data.rcv_nxt, self.window, self._ts_recent, now)
